/** What the load run measured: latency samples per operation, and errors by operation and code. */
import { SdkError } from "../../sdk/index.js";
import { fmt, percentile } from "../../bench/lib/stats.js";
import { AdminError } from "./admin.js";

export class Tally {
  private readonly samples = new Map<string, number[]>();
  private readonly errors = new Map<string, number>();

  /** Times `task` as one `op`; a failure is counted by its code and rethrown. */
  async time<T>(op: string, task: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await task();
      this.sample(op, performance.now() - started);
      return result;
    } catch (e) {
      this.error(op, codeOf(e));
      throw e;
    }
  }

  sample(op: string, ms: number): void {
    let list = this.samples.get(op);
    if (!list) this.samples.set(op, (list = []));
    list.push(ms);
  }

  error(op: string, code: string): void {
    const key = `${op} ${code}`;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }

  count(op: string): number {
    return this.samples.get(op)?.length ?? 0;
  }

  /** Errors of any operation with this code. */
  errorsWithCode(code: string): number {
    return [...this.errors].filter(([key]) => key.endsWith(` ${code}`)).reduce((n, [, v]) => n + v, 0);
  }

  errorCount(): number {
    return [...this.errors.values()].reduce((a, b) => a + b, 0);
  }

  /** One row per operation: count, rate (over `verifySeconds` for verify.*, else `seconds`), p50/p95/p99 in ms. */
  table(seconds: number, verifySeconds: number): string {
    const head = ["operation", "ok", "per s", "p50 ms", "p95 ms", "p99 ms"];
    const rate = (op: string, n: number) => fmt(n / (op.startsWith("verify.") ? verifySeconds : seconds));
    const rows = [...this.samples].map(([op, ms]) => [op, String(ms.length), rate(op, ms.length), fmt(percentile(ms, 50)), fmt(percentile(ms, 95)), fmt(percentile(ms, 99))]);
    return formatTable(head, rows);
  }

  errorTable(): string {
    if (this.errors.size === 0) return "  errors: none";
    const rows = [...this.errors].sort((a, b) => b[1] - a[1]).map(([key, n]) => [...key.split(" "), String(n)]);
    return formatTable(["operation", "error code", "count"], rows);
  }
}

export function codeOf(e: unknown): string {
  if (e instanceof SdkError || e instanceof AdminError) return e.code;
  return "unexpected";
}

export function formatTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => "  " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
