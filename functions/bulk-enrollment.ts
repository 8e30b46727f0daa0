import type { AuditContext } from "./audit-log";
import type { Custody } from "./custody";
import type { Db } from "./db";
import { commitEnrollment, EnrollmentInput, findCollisions, type LineError, type PreparedMeter, prepareMeter } from "./enrollment";
import { GridkeyError, toGridkeyError } from "./errors";

export const MAX_BULK_METERS = 20_000;
const MAX_REPORTED_ERRORS = 1_000;

const CSV_COLUMNS = ["id", "systemTitle", "region", "suite", "identityPublicKey", "transportKeyId", "kek", "guek", "ak"] as const;

export type BulkFormat = "ndjson" | "csv";
export type BulkResult = { enrolled: number };

/**
 * Enrolls every meter of an NDJSON or CSV body, or none: a single bad line refuses the
 * whole request with a report naming each bad line (1-based, counting the CSV header).
 */
/**
 * The pure first step of a bulk enrollment: the body's lines, each an enrollment input that
 * passed its schema or a line error (malformed record, schema refusal). Throws `bulk_invalid`
 * for an empty body or one over the limit, and nothing else.
 */
export function readBulkLines(format: BulkFormat, body: string): { inputs: { line: number; input: EnrollmentInput }[]; errors: LineError[] } {
  const lines = format === "csv" ? parseCsv(body) : parseNdjson(body);
  if (lines.length === 0) throw new GridkeyError("bulk_invalid", "the body holds no meters");
  if (lines.length > MAX_BULK_METERS) {
    throw new GridkeyError("bulk_invalid", `at most ${MAX_BULK_METERS} meters per request; split the file`);
  }
  const inputs: { line: number; input: EnrollmentInput }[] = [];
  const errors: LineError[] = [];
  for (const { line, value } of lines) {
    if (value === MALFORMED) {
      errors.push({ line, code: "malformed_body", message: format === "csv" ? "not a CSV record of the header's columns" : "not a JSON object" });
      continue;
    }
    const parsed = EnrollmentInput.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const code = (issue as { params?: { gridkey?: string } }).params?.gridkey ?? "validation_failed";
      errors.push({ line, ...idOf(value), code, message: `${issue.path.join(".") || "(line)"}: ${issue.message}` });
      continue;
    }
    inputs.push({ line, input: parsed.data });
  }
  return { inputs, errors };
}

export async function enrollBulk(db: Db, env: Env, custody: Custody, ctx: AuditContext, format: BulkFormat, body: string): Promise<BulkResult> {
  const { inputs, errors } = readBulkLines(format, body);
  const now = ctx.now ?? Date.now();
  const transport = new Map<string, Promise<Uint8Array>>();
  const prepared: { line: number; meter: PreparedMeter }[] = [];
  for (const { line, input } of inputs) {
    try {
      prepared.push({ line, meter: await prepareMeter(db, custody, input, now, transport) });
    } catch (err) {
      const e = toGridkeyError(err);
      if (e.status >= 500) throw e;
      errors.push({ line, id: input.id, code: e.code, message: e.message });
    }
  }
  for (const [i, collision] of await findCollisions(db, prepared.map((p) => p.meter))) {
    errors.push({ ...collision, line: prepared[i]!.line });
  }
  if (errors.length > 0) {
    errors.sort((a, b) => a.line - b.line);
    throw new GridkeyError("bulk_invalid", `${errors.length} line(s) have errors; no meter was enrolled`, {
      errorCount: errors.length,
      errors: errors.slice(0, MAX_REPORTED_ERRORS),
    });
  }
  await commitEnrollment(db, env, ctx, prepared.map((p) => p.meter));
  return { enrolled: prepared.length };
}

type Line = { line: number; value: unknown };
const MALFORMED = Symbol("malformed");

function idOf(value: unknown): { id?: string } {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === "string" ? { id: id.slice(0, 64) } : {};
}

function parseNdjson(body: string): Line[] {
  const out: Line[] = [];
  body.split("\n").forEach((text, i) => {
    if (text.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = MALFORMED;
    }
    out.push({ line: i + 1, value });
  });
  return out;
}

/**
 * CSV with a header row naming columns from CSV_COLUMNS. No field gridkey takes needs quoting
 * (ids, regions, hex), so a quote character is refused rather than half-understood.
 */
function parseCsv(body: string): Line[] {
  const rows = body.split(/\r?\n/);
  const header = (rows[0] ?? "").split(",").map((h) => h.trim());
  const unknown = header.filter((h) => !(CSV_COLUMNS as readonly string[]).includes(h));
  if (unknown.length > 0 || !header.includes("id")) {
    throw new GridkeyError("bulk_invalid", `the CSV header must name columns among: ${CSV_COLUMNS.join(", ")}`, {
      errorCount: 1,
      errors: [{ line: 1, code: "validation_failed", message: `unknown columns: ${unknown.join(", ") || "(id is missing)"}` }],
    });
  }
  const out: Line[] = [];
  rows.slice(1).forEach((text, i) => {
    if (text.trim() === "") return;
    out.push({ line: i + 2, value: csvRecord(header, text) });
  });
  return out;
}

function csvRecord(header: string[], text: string): unknown {
  const fields = text.split(",").map((f) => f.trim());
  if (text.includes('"') || fields.length !== header.length) return MALFORMED;
  const record: Record<string, unknown> = {};
  const manufacturer: Record<string, string> = {};
  header.forEach((name, i) => {
    const value = fields[i]!;
    if (value === "") return;
    if (name === "suite") record.suite = /^\d+$/.test(value) ? Number(value) : value;
    else if (["transportKeyId", "kek", "guek", "ak"].includes(name)) manufacturer[name] = value;
    else record[name] = value;
  });
  if (Object.keys(manufacturer).length > 0) record.manufacturerKeys = manufacturer;
  return record;
}
