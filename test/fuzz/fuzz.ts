/**
 * Shared pieces of the fuzz suite (docs/fuzzing.md): how many cases to run, and the
 * generators of malformed, truncated, oversized, type-confused and mutated inputs.
 *
 * The number of cases per property is each file's CI default unless FUZZ_RUNS is set
 * (`npm run fuzz -- --runs N` sets it); FUZZ_SEED replays a reported run.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { expect } from "vitest";
import { CborMap, encode, type CborValue } from "../../edhoc/cbor";
import { concatBytes } from "../../wire/axdr";

/** Cases per property: FUZZ_RUNS when set, else the file's CI default. */
export function runs(ciDefault: number): number {
  const n = Number(env.FUZZ_RUNS);
  return Number.isSafeInteger(n) && n > 0 ? n : ciDefault;
}

/** fast-check parameters: the case count, the seed when one is given, and a time bound for async cases. */
export function params<Ts = unknown>(ciDefault: number, caseTimeoutMs = 10_000): fc.Parameters<Ts> {
  const seed = Number(env.FUZZ_SEED);
  return {
    numRuns: runs(ciDefault),
    ...(env.FUZZ_SEED !== "" && Number.isSafeInteger(seed) ? { seed } : {}),
    // Async properties: a case that does not settle in time fails as a hang.
    timeout: caseTimeoutMs,
    endOnFailure: true,
  };
}

/**
 * A vitest timeout that grows with the case count: a guard against hangs, generous because
 * the 2-core machine is shared (pure cases take well under a millisecond, HTTP ones ~0.2 s).
 */
export function budgetMs(ciDefault: number, msPerCase: number): number {
  return 30_000 + runs(ciDefault) * msPerCase;
}

/**
 * fc.check with the report fast-check would give on failure, and one line on success naming
 * how many cases ran (docs/fuzzing.md quotes these lines).
 */
export async function check<Ts>(property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>, p: fc.Parameters<Ts>): Promise<void> {
  const details = await fc.check(property as fc.IRawProperty<Ts>, p);
  if (details.failed || details.interrupted) throw new Error(fc.defaultReportMessage(details) ?? "fuzz property interrupted");
  const name = expect.getState().currentTestName ?? "(unnamed)";
  console.log(`[fuzz] ${details.numRuns} cases (seed ${details.seed}): ${name}`);
}

/** Runs `f` and lets through only the documented error types; anything else is rethrown as a defect. */
export function onlyThrows<T>(f: () => T, ...documented: Array<abstract new (...args: never[]) => Error>): T | undefined {
  try {
    return f();
  } catch (e) {
    if (documented.some((cls) => e instanceof cls)) return undefined;
    throw e;
  }
}

export async function onlyRejects<T>(f: () => Promise<T>, ...documented: Array<abstract new (...args: never[]) => Error>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    if (documented.some((cls) => e instanceof cls)) return undefined;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------
// Byte inputs
// ---------------------------------------------------------------------------------------

/** Bytes that mean something to CBOR and A-XDR heads: long arguments, indefinite lengths, tags, floats, breaks. */
const INTERESTING = [
  0x00, 0x01, 0x02, 0x08, 0x09, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x20, 0x37, 0x38, 0x3b, 0x40, 0x41, 0x50, 0x58, 0x59, 0x5a, 0x5b, 0x5f, 0x60, 0x78, 0x7f, 0x80,
  0x81, 0x82, 0x83, 0x84, 0x98, 0x9b, 0x9f, 0xa0, 0xa1, 0xa2, 0xb8, 0xbf, 0xc0, 0xd8, 0xdb, 0xe0, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xff,
];

/** Arbitrary bytes, weighted toward structural bytes so that deep parsing paths are reached. */
export function bytes(maxLength = 256): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength }),
    fc.array(fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 })), { maxLength }).map((a) => Uint8Array.from(a)),
  );
}

/** Any CBOR value within bounds: what a type-confused peer could send in a well-formed encoding. */
export const cborValue: fc.Arbitrary<CborValue> = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.integer(),
    fc.constantFrom(0, 1, -1, 23, 24, -24, -25, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
    fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }),
    fc.string({ maxLength: 40 }),
    fc.uint8Array({ maxLength: 80 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 8 }),
    fc
      .uniqueArray(fc.tuple(fc.oneof(fc.integer({ min: -30, max: 30 }), fc.string({ maxLength: 12 })), tie("value")), { maxLength: 6, selector: ([k]) => k })
      .map((entries) => new CborMap(entries)),
  ),
})).value;

/** A random CBOR value, encoded (deterministically, so well-formed). */
export const cborBytes: fc.Arbitrary<Uint8Array> = cborValue.map((v) => encode(v));

/** A CBOR sequence of 0-6 random items. */
export const cborSequence: fc.Arbitrary<Uint8Array> = fc.array(cborValue, { maxLength: 6 }).map((vs) => concatBytes(...vs.map((v) => encode(v))));

/**
 * Mutations of a valid input: bit flips, byte overwrites, truncation, extension, insertion,
 * deletion, duplication of a chunk, and swapping two chunks (field swaps).
 */
export function mutationOf(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const n = valid.length;
  const pos = fc.nat(Math.max(0, n - 1));
  return fc.oneof(
    fc.array(fc.nat(n * 8 - 1), { minLength: 1, maxLength: 4 }).map((bits) => {
      const c = valid.slice();
      for (const b of bits) c[b >> 3]! ^= 1 << (b & 7);
      return c;
    }),
    fc.array(fc.tuple(pos, fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 }))), { minLength: 1, maxLength: 4 }).map((edits) => {
      const c = valid.slice();
      for (const [i, v] of edits) c[i] = v;
      return c;
    }),
    fc.nat(n).map((k) => valid.slice(0, k)),
    fc.nat(n).map((k) => valid.slice(k)),
    bytes(64).map((tail) => concatBytes(valid, tail)),
    fc.tuple(pos, bytes(16)).map(([i, ins]) => concatBytes(valid.subarray(0, i), ins, valid.subarray(i))),
    fc.tuple(pos, fc.integer({ min: 1, max: 16 })).map(([i, k]) => concatBytes(valid.subarray(0, i), valid.subarray(i + k))),
    fc.tuple(pos, pos).map(([a, b]) => {
      const [i, j] = a <= b ? [a, b] : [b, a];
      return concatBytes(valid.subarray(0, j), valid.subarray(i, j), valid.subarray(j));
    }),
    fc.tuple(pos, pos, pos).map((cuts) => {
      const [i, j, k] = [...cuts].sort((x, y) => x - y) as [number, number, number];
      return concatBytes(valid.subarray(0, i), valid.subarray(j, k), valid.subarray(i, j), valid.subarray(k));
    }),
  );
}

/** A mutation of one of several valid inputs. */
export function mutationOfAny(valids: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(...valids.map(mutationOf));
}

// ---------------------------------------------------------------------------------------
// JSON inputs
// ---------------------------------------------------------------------------------------

/** Any JSON value (bounded), including the ones that trip validators: huge numbers, long strings, deep nesting. */
export const jsonValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(-1, 0, 1.5, 1e308, -1e308, 2 ** 53, 2 ** 64, 4294967295, 4294967296),
    fc.string({ maxLength: 40 }),
    fc.constantFrom("", "00", "zz", "0".repeat(64), "f".repeat(97), "a".repeat(5000), "north-1", "MTR-1", "\u0000", "__proto__", "constructor", "NaN"),
    fc.array(tie("v"), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 12 }), tie("v"), { maxKeys: 5 }),
  ),
})).v;

/**
 * Mutations of a valid JSON object: a field dropped, a field's value replaced by any JSON
 * value, an unknown field added, two fields' values swapped, or the whole body replaced.
 */
export function jsonMutationOf(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  const key = fc.constantFrom(...keys);
  return fc.oneof(
    key.map((k) => {
      const { [k]: _dropped, ...rest } = valid;
      return rest;
    }),
    fc.tuple(key, jsonValue).map(([k, v]) => ({ ...valid, [k]: v })),
    fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), jsonValue).map(([k, v]) => ({ ...valid, [k]: v })),
    fc.tuple(key, key).map(([a, b]) => ({ ...valid, [a]: valid[b], [b]: valid[a] })),
    jsonValue,
  );
}

/** Text that is not JSON, or JSON cut short. */
export function malformedJson(valid: unknown): fc.Arbitrary<string> {
  const text = JSON.stringify(valid);
  return fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.nat(Math.max(0, text.length - 1)).map((k) => text.slice(0, k)),
    fc.constantFrom("{", "[", "{\"a\":}", "nul", "{}}", "\u0000", "{\"a\":1,}", "'x'", "[1,2", "9".repeat(400)),
  );
}
