/**
 * Shared harness for the Wycheproof vector tests: file types, case labels, and a tally that
 * puts every case in exactly one bucket so a test can prove none was skipped.
 */
import { expect } from "vitest";
import { CryptoInputError, CryptoVerifyError, type CryptoInputCode } from "../../functions/crypto";

export type Result = "valid" | "invalid" | "acceptable";

export interface WycheproofTest {
  tcId: number;
  comment: string;
  flags: string[];
  result: Result;
}

export interface WycheproofFile<G> {
  algorithm: string;
  numberOfTests: number;
  testGroups: G[];
}

/** "tc 12 (comment) [Flag1,Flag2]" so a failure names its vector. */
export function label(t: WycheproofTest): string {
  return `tc ${t.tcId} (${t.comment || "no comment"}) [${t.flags.join(",")}] ${t.result}`;
}

type Bucket = "valid ok" | "invalid rejected" | "acceptable accepted" | "acceptable rejected" | "refused by parameter policy";

/** Counts per bucket plus a list of failures (labelled); report() prints and asserts. */
export class Tally {
  private counts = new Map<Bucket, number>();
  readonly failures: string[] = [];

  constructor(private readonly name: string) {}

  private refused = new Map<Result, number>();

  add(bucket: Bucket): void {
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
  }

  /** A case whose parameters the API refuses by policy; its Wycheproof verdict is kept for the summary. */
  addRefused(t: WycheproofTest): void {
    this.add("refused by parameter policy");
    this.refused.set(t.result, (this.refused.get(t.result) ?? 0) + 1);
  }

  fail(t: WycheproofTest | string, why: string): void {
    this.failures.push(`${typeof t === "string" ? t : label(t)}: ${why}`);
  }

  count(bucket: Bucket): number {
    return this.counts.get(bucket) ?? 0;
  }

  /** Prints the one-line summary and asserts: no failure, and the buckets add up to `total`. */
  report(total: number): void {
    const order: Bucket[] = ["valid ok", "invalid rejected", "acceptable accepted", "acceptable rejected", "refused by parameter policy"];
    const parts = order.filter((b) => this.count(b) > 0).map((b) => `${this.count(b)} ${b}`);
    if (this.refused.size > 0) {
      const of = [...this.refused].map(([r, n]) => `${n} ${r}`).join(", ");
      parts[parts.length - 1] += ` (of which ${of})`;
    }
    console.log(`${this.name}: ${parts.join(", ")}; ${total} cases`);
    expect(this.failures).toEqual([]);
    const sum = order.reduce((n, b) => n + this.count(b), 0);
    expect(sum, `${this.name}: counted cases`).toBe(total);
  }
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Runs f and captures either its value or what it threw (sync throws included). */
export async function attempt<T>(f: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (error) {
    return { ok: false, error };
  }
}

export function isInputError(e: unknown, code?: CryptoInputCode): boolean {
  return e instanceof CryptoInputError && (code === undefined || e.code === code);
}

export function isVerifyError(e: unknown): boolean {
  return e instanceof CryptoVerifyError;
}

/** Short description of an outcome for failure messages (never prints secrets: test data only). */
export function describeOutcome<T>(o: Outcome<T>, show: (v: T) => string = String): string {
  if (o.ok) return `returned ${show(o.value)}`;
  const e = o.error as Error & { code?: string };
  return `threw ${e?.name}${e?.code ? `(${e.code})` : ""}: ${e?.message}`;
}

/** Wycheproof writes private scalars as ASN.1 INTEGER contents; left-pad or strip to `size` bytes. */
export function scalarBytes(hex: string, size: number): Uint8Array {
  const stripped = hex.replace(/^(00)+/, "");
  const padded = stripped.padStart(size * 2, "0");
  if (padded.length !== size * 2) throw new Error(`scalar longer than ${size} bytes`);
  return Uint8Array.from(padded.match(/../g) ?? [], (b) => parseInt(b, 16));
}
