/**
 * Fuzzing the edge through the real worker (exports.default.fetch): /.well-known/edhoc with
 * its `true` / C_R prefixes, session records, the operations inside a session (rekey
 * requests, DLMS readings, acknowledgements) and the public GETs. Every bad input must get
 * a 4xx with a documented code (JSON body, or an EDHOC error with the code in
 * `gridkey-error`, or an encrypted [1, code, message] inside a session), never a 5xx, and
 * must leave the stored state as it was: D1 rows other than the audit trail of refusals,
 * and the concentrator's storage (sessions, counters).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { CborMap, decodeSequence, encode, type CborValue } from "../../edhoc/cbor";
import { continueRequest, message1Request } from "../../edhoc/transport";
import { type ErrorCode, GridkeyError } from "../../functions/errors";
import { webCryptoSessionAead } from "../../functions/session-aead";
import { sealRequest } from "../../wire/session-record";
import { createProgram, members } from "../helpers/groups";
import { post, TestMeter } from "../helpers/test-meter";
import { concatBytes } from "../../wire/axdr";
import { budgetMs, bytes, cborSequence, cborValue, check, mutationOf, params } from "./fuzz";

const HTTP = 40; // CI cases per HTTP property
const EDHOC_TYPE = "application/cid-edhoc+cbor-seq";
const SESSION_TYPE = "application/gridkey-session+cbor-seq";

/** A code of functions/errors.ts whose status is a 4xx: the documented refusals. */
function isDocumented4xx(code: unknown): boolean {
  if (typeof code !== "string") return false;
  const status = new GridkeyError(code as ErrorCode, "").status as number | undefined;
  return status !== undefined && status >= 400 && status < 500;
}

/** Reads a refusal in any of the edge's three forms and checks it is a documented 4xx. */
async function expectRefusal(res: Response): Promise<string> {
  expect(res.status, "never a 5xx").toBeLessThan(500);
  expect(res.status).toBeGreaterThanOrEqual(400);
  const type = res.headers.get("content-type") ?? "";
  const body = new Uint8Array(await res.arrayBuffer());
  if (type.startsWith("application/json")) {
    const code = JSON.parse(new TextDecoder().decode(body)).error.code;
    expect(isDocumented4xx(code), `documented code: ${code}`).toBe(true);
    return code;
  }
  expect(type).toBe("application/edhoc+cbor-seq");
  const code = res.headers.get("gridkey-error");
  expect(isDocumented4xx(code), `documented code: ${code}`).toBe(true);
  if (body.length > 0) expect(typeof decodeSequence(body)[0]).toBe("number"); // an EDHOC error message: ERR_CODE first
  return code!;
}

/** Everything a refused request must leave alone: D1 rows (but the refusals' audit records) and the concentrator's storage. */
async function storedState(region: string): Promise<string> {
  const counts: Record<string, unknown> = {};
  for (const table of ["meters", "keys", "readings", "transport_keys", "operator_tokens", "programs", "program_members", "policies"]) {
    counts[table] = (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
  }
  counts.audit = (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action != 'edge.refused'").first<{ n: number }>())!.n;
  const stub = env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(region));
  const storage = await runInDurableObject(stub, async (_i, state) => [...(await state.storage.list()).entries()]);
  return JSON.stringify({ counts, storage });
}

function edhoc(region: string, body: Uint8Array): Promise<Response> {
  return post(`/.well-known/edhoc?region=${region}`, "POST", body, EDHOC_TYPE);
}

describe("fuzz: /.well-known/edhoc", () => {
  const region = "fuzz-edhoc";
  let meter: TestMeter;
  let message1: Uint8Array;
  beforeAll(async () => {
    meter = await TestMeter.enroll(region);
    message1 = await meter.initiator().message1();
    // The region's concentrator credentials (P-256 and P-384) are made on first use: make
    // them now, so that what follows is compared against a region already in service.
    expect((await meter.start()).res.status).toBe(200);
  });

  it("regression: C_R followed by a malformed CBOR head (08 fe) is 400 bad_frame, not a 500", async () => {
    const res = await edhoc(region, Uint8Array.of(0x08, 0xfe));
    expect(await expectRefusal(res)).toBe("bad_frame");
    expect(res.status).toBe(400);
  });

  it("bodies around the size limits (4 KiB EDHOC, 16 KiB session): 413 above, never a 5xx", { timeout: budgetMs(HTTP, 1500) }, async () => {
    await check(
      fc.asyncProperty(fc.boolean(), fc.integer({ min: -64, max: 70_000 }), async (isEdhoc, delta) => {
        const limit = isEdhoc ? 4096 : 16384;
        const size = Math.max(1, limit + delta);
        const body = new Uint8Array(size).fill(0x81); // deeply nested CBOR as well as long
        const res = isEdhoc ? await edhoc(region, body) : await post(`/v1/edge/session?region=${region}`, "POST", body, SESSION_TYPE);
        const code = await expectRefusal(res);
        if (size > limit) expect(code).toBe("body_too_large");
      }),
      params(HTTP),
    );
  });

  it("noise, prefixes with any message, mutated real message_1: message_2 or a documented 4xx, and no stored change", { timeout: budgetMs(HTTP, 1500) }, async () => {
    const body = fc.oneof(
      bytes(300),
      cborSequence,
      mutationOf(message1Request(message1)),
      fc.tuple(fc.oneof(fc.constant(Uint8Array.of(0xf5)), cborValue.map((v) => encode(v))), bytes(80)).map(([prefix, rest]) => concatBytes(prefix, rest)),
    );
    const before = await storedState(region);
    await check(
      fc.asyncProperty(body, async (input) => {
        const res = await edhoc(region, input);
        if (res.status === 200) {
          expect(input[0]).toBe(0xf5); // only a message_1 is answered with message_2
          await res.arrayBuffer();
        } else await expectRefusal(res);
      }),
      params(HTTP),
    );
    expect(await storedState(region)).toBe(before);
  });

  it("mutated real message_3 (with and without a first request): a session only when message_3 is unchanged, else a documented 4xx and no stored change", { timeout: budgetMs(HTTP, 1500) }, async () => {
    await check(
      fc.asyncProperty(fc.boolean(), fc.integer({ min: 0, max: 2 ** 31 }), async (withRecord, seed) => {
        const { body, initiator } = await meter.start();
        const m2 = await initiator.processMessage2(body);
        const m3 = await initiator.message3();
        const record = withRecord ? Uint8Array.of(0x01, 0x43, 1, 2, 3) : new Uint8Array(0);
        const real = continueRequest(m2.connectionIdResponder, concatBytes(m3, record));
        const [input] = fc.sample(mutationOf(real), { numRuns: 1, seed });
        const before = await storedState(region);
        const res = await edhoc(region, input!);
        const untouched = startsWith(input!, continueRequest(m2.connectionIdResponder, m3));
        if (res.status < 300) {
          expect(untouched, "only the real message_3 makes a session").toBe(true);
          await res.arrayBuffer();
          return;
        }
        await expectRefusal(res);
        if (!untouched) expect(await storedState(region)).toBe(before);
      }),
      params(HTTP),
    );
  });
});

describe("fuzz: /v1/edge/session and the operations inside it", () => {
  const region = "fuzz-session";
  let meter: TestMeter;
  let ek: Uint8Array;
  let ak: Uint8Array;
  let program: string;
  beforeAll(async () => {
    meter = await TestMeter.enroll(region);
    // A program the meter belongs to, with two epochs: its bundles are cached at the
    // region's concentrator, so rekey requests reach the cached-view path too.
    program = await createProgram(2);
    const other = await TestMeter.enroll(region);
    expect((await members(program, { add: [meter.id, other.id] })).status).toBe(200);
    expect((await members(program, { remove: [other.id] })).status).toBe(200);
    expect((await meter.connect()).status).toBe(200);
    const keys = await meter.fetchKeys();
    ek = keys.guek!.key;
    ak = keys.ak!.key;
  });

  it("noise and mutated real records: a documented 4xx (or the answer to the real one), and the session's counter untouched by refusals", { timeout: budgetMs(HTTP, 1500) }, async () => {
    await check(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 }), fc.boolean(), async (seed, noise) => {
        const counter = meter.counter + 1;
        const real = await sealRequest(webCryptoSessionAead, meter.keys!, meter.connectionId!, counter, { op: "ping", args: new CborMap() });
        const [input] = fc.sample(noise ? fc.oneof(bytes(200), cborSequence) : mutationOf(real), { numRuns: 1, seed });
        const before = await storedState(region);
        const res = await post(`/v1/edge/session?region=${region}`, "POST", input!, SESSION_TYPE);
        if (res.status === 200) {
          meter.counter = counter;
          await res.arrayBuffer();
          return;
        }
        await expectRefusal(res);
        expect(await storedState(region)).toBe(before);
      }),
      params(HTTP),
    );
    expect((await meter.request("ping")).response?.ok, "the session still works").toBe(true);
  });

  it("operations with type-confused arguments and mutated real DLMS readings: [0, result] or [1, documented code, message], never a 5xx", { timeout: budgetMs(HTTP, 1500) }, async () => {
    const realReading = await meter.reading(ek, ak, 1_000_000);
    const args = fc.oneof(
      fc.uniqueArray(fc.tuple(fc.constantFrom("program", "epoch", "leaf", "keys", "apdu", "x"), cborValue), { maxLength: 4, selector: ([k]) => k }).map((e) => new CborMap(e)),
      fc.tuple(fc.oneof(fc.string({ maxLength: 70 }), fc.constant(program)), fc.oneof(cborValue, fc.nat(4), fc.nat()), fc.option(fc.oneof(cborValue, fc.nat(8), fc.nat()))).map(
        ([program, epoch, leaf]) => new CborMap([["program", program], ["epoch", epoch], ...(leaf === null ? [] : [["leaf", leaf] as [string, CborValue]])]),
      ),
      fc.array(fc.oneof(fc.tuple(fc.string({ maxLength: 20 }), fc.integer()), cborValue), { maxLength: 20 }).map((keys) => new CborMap([["keys", keys as CborValue]])),
      mutationOf(realReading).map((apdu) => new CborMap([["apdu", apdu]])),
    );
    const op = fc.constantFrom("ping", "keys", "ack", "reading", "rekey", "", "unknown", "x".repeat(100));
    await check(
      fc.asyncProperty(op, args, async (name, a) => {
        const readings = await countReadings();
        const reply = await meter.request(name, a);
        expect(reply.status, `no 5xx: ${JSON.stringify(reply.error)}`).toBe(200);
        const response = reply.response!;
        if (!response.ok) expect(isDocumented4xx(response.code), `documented code: ${response.code}`).toBe(true);
        const apdu = a.get("apdu");
        const accepted = response.ok && name === "reading";
        if (accepted) expect(apdu).toEqual(realReading); // only the real frame is accepted, once
        expect(await countReadings()).toBe(readings + (accepted ? 1 : 0));
      }),
      params(HTTP),
    );
  });
});

describe("fuzz: the edge's public GETs and query strings", () => {
  it("credential, trust anchor and subscribe with any query: a documented 4xx or the resource", { timeout: budgetMs(HTTP, 1500) }, async () => {
    const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("north-1", "P-256", "P-384", "", "a".repeat(40), "%00", "..", "p1,p2"));
    await check(
      fc.asyncProperty(fc.constantFrom("/v1/edge/credential", "/v1/edge/subscribe", "/v1/edge/trust-anchor"), text, text, text, async (path, region, curve, programs) => {
        const q = new URLSearchParams({ region, curve, programs });
        const res = await post(`${path}?${q}`, "GET");
        if (res.status < 300) {
          await res.arrayBuffer();
          return;
        }
        await expectRefusal(res);
      }),
      params(HTTP),
    );
  });
});

async function countReadings(): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM readings").first<{ n: number }>())!.n;
}

function startsWith(input: Uint8Array, prefix: Uint8Array): boolean {
  return input.length >= prefix.length && prefix.every((b, i) => input[i] === b);
}


