import { CliError } from "./exit-codes";

export type Column<T> = { header: string; value: (row: T) => unknown };

/** What every command prints through: a table (or key/value block) for people, or JSON for scripts. */
export class Output {
  constructor(readonly json: boolean) {}

  /** The API's answer as is with --json, else `human()`. */
  result(data: unknown, human: () => void): void {
    if (this.json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    else human();
  }

  table<T>(rows: T[], columns: Column<T>[]): void {
    process.stdout.write(formatTable(rows, columns));
  }

  fields(record: Record<string, unknown>): void {
    const width = Math.max(...Object.keys(record).map((k) => k.length));
    for (const [k, v] of Object.entries(record)) process.stdout.write(`${k.padEnd(width)}  ${cell(v)}\n`);
  }

  line(text: string): void {
    process.stdout.write(`${text}\n`);
  }

  /** Progress and notes go to stderr, so stdout stays the result alone. */
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  error(err: CliError): void {
    if (this.json) {
      const error = { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) };
      process.stderr.write(`${JSON.stringify({ error })}\n`);
      return;
    }
    process.stderr.write(`error: ${err.code}: ${err.message}\n`);
    for (const line of detailLines(err.details)) process.stderr.write(`  ${line}\n`);
  }
}

export function formatTable<T>(rows: T[], columns: Column<T>[]): string {
  if (rows.length === 0) return "(none)\n";
  const cells = rows.map((r) => columns.map((c) => cell(c.value(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const render = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd();
  return [render(columns.map((c) => c.header.toUpperCase())), ...cells.map(render)].join("\n") + "\n";
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Bulk reports (`details.errors`) and other details, one line each, capped for a terminal. */
function detailLines(details: unknown): string[] {
  if (details === undefined || details === null) return [];
  const errors = (details as { errors?: unknown }).errors;
  if (Array.isArray(errors)) {
    const lines = errors.slice(0, 50).map((e: { line?: number; id?: string; code?: string; message?: string }) => `line ${e.line}${e.id ? ` (${e.id})` : ""}: ${e.code}: ${e.message}`);
    const total = (details as { errorCount?: number }).errorCount ?? errors.length;
    if (total > lines.length) lines.push(`... and ${total - lines.length} more (--json shows the first ${errors.length})`);
    return lines;
  }
  return [JSON.stringify(details)];
}
