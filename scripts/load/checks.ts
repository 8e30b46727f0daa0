/** The end-of-run checks: each counts what it checked and what failed, with a few examples. */
import { formatTable } from "./tally.js";

type Check = { checked: number; failed: number; examples: string[] };

export class Checks {
  private readonly checks = new Map<string, Check>();

  private get(name: string): Check {
    let c = this.checks.get(name);
    if (!c) this.checks.set(name, (c = { checked: 0, failed: 0, examples: [] }));
    return c;
  }

  /** Records one check of `name`: passed when `ok`, else a failure described by `detail`. */
  expect(name: string, ok: boolean, detail: () => string): void {
    const c = this.get(name);
    c.checked++;
    if (ok) return;
    c.failed++;
    if (c.examples.length < 5) c.examples.push(detail());
  }

  get failed(): number {
    return [...this.checks.values()].reduce((n, c) => n + c.failed, 0);
  }

  table(): string {
    const rows = [...this.checks].map(([name, c]) => [name, String(c.checked), String(c.failed), c.failed === 0 ? "PASS" : "FAIL"]);
    const examples = [...this.checks].flatMap(([name, c]) => c.examples.map((e) => `    ${name}: ${e}`));
    return [formatTable(["check", "checked", "failed", ""], rows), ...examples].join("\n");
  }
}
