/**
 * Key material never appears in logs or error bodies (issue 10, "Timing"). Every console
 * method is captured during a full run (enrollment, EDHOC, key delivery, a reading, a DR
 * program with joins and a leave, a DR command, a master-key rewrap, a head-end export, the
 * cron, and a series of refused requests), then the captured text and every error body are
 * searched for every key the run created, read back from the key store, plus the session
 * keys, the KEK, the transport keys, the master keys and the tokens, each in hex (both
 * cases), base64 and base64url.
 */
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../workers/index";
import { CborMap } from "../edhoc/cbor";
import { fromHex, toBase64url, toHex, wrap } from "../functions/crypto";
import { custodyFor } from "../functions/custody";
import { database } from "../functions/db";
import { openKey, type KeyRow } from "../functions/key-store";
import { keys } from "../schema";
import { createProgram, groupKeyOf, members } from "./helpers/groups";
import { call, tokenFor, unique } from "./helpers/http";
import { post, TestMeter } from "./helpers/test-meter";

const METHODS = ["log", "info", "warn", "error", "debug", "trace"] as const;

describe("no key material in logs or error bodies", () => {
  const logged: string[] = [];
  const errorBodies: string[] = [];
  const secrets = new Map<string, Uint8Array>();

  beforeAll(() => {
    for (const m of METHODS) {
      vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        logged.push(args.map(render).join(" "));
      });
    }
  });
  afterAll(() => vi.restoreAllMocks());

  async function keep(res: { status: number; body: unknown }) {
    if (res.status >= 400) errorBodies.push(typeof res.body === "string" ? res.body : JSON.stringify(res.body));
    return res;
  }

  async function readKeyStore() {
    const custody = await custodyFor(env);
    const rows: KeyRow[] = await database(env.DB).select().from(keys);
    for (const row of rows) {
      if (row.state === "destroyed" || row.wrapped === null) continue;
      secrets.set(`key ${row.id} v${row.version} (${row.keyClass})`, await openKey(custody, row));
    }
    return rows.length;
  }

  it("a full run logs no key and returns none in an error", async () => {
    // Enrollment, EDHOC, key delivery, a reading.
    const a = await TestMeter.enroll("logs-1");
    const b = await TestMeter.enroll("logs-1");
    secrets.set("meter A KEK", a.kek);
    secrets.set("meter A identity key", a.identity.privateKey);
    expect((await a.connect()).status).toBe(200);
    secrets.set("session K_i2r", a.keys!.keyI2R);
    secrets.set("session K_r2i", a.keys!.keyR2I);
    const delivered = await a.fetchKeys();
    const reading = await a.request("reading", new CborMap([["apdu", await a.reading(delivered.guek!.key, delivered.ak!.key, 1)]]));
    expect(reading.response?.ok).toBe(true);
    expect(await readKeyStore()).toBeGreaterThan(0);

    // A DR program: joins, a leave, the meter's rekey, a DR command.
    const program = await createProgram(2);
    expect((await members(program, { add: [a.id, b.id] })).status).toBe(200);
    expect((await members(program, { remove: [b.id] })).status).toBe(200);
    const group = await groupKeyOf(program);
    if (group) secrets.set("group key", fromHex(group.key));
    expect((await a.request("rekey", new CborMap([["program", program], ["epoch", 0], ["leaf", 0]]))).status).toBe(200);
    expect((await call("POST", `/v1/admin/programs/${program}/commands`, { json: { command: "c001c100" } })).status).toBe(200);

    // Head-end export under a transport key, master-key rewrap, the cron.
    const tk = crypto.getRandomValues(new Uint8Array(16));
    secrets.set("head-end transport key", tk);
    const transport = await call("POST", "/v1/admin/transport-keys", { json: { name: unique("he"), purpose: "headend", key: toHex(tk) } });
    const headend = await tokenFor("headend", { transportKeyId: transport.body.id });
    secrets.set("head-end token", new TextEncoder().encode(headend));
    expect((await call("GET", `/v1/admin/meters/${a.id}/export`, { token: headend })).status).toBe(200);
    expect((await call("POST", "/v1/admin/master-key/rewrap")).status).toBeLessThan(300);
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" }), env);
    expect(logged.some((l) => l.includes("scheduled run")), "the capture sees the worker's own logs").toBe(true);

    // Refusals: a manufacturer key that fails its integrity check, bad tokens, bad bodies, bad edge traffic.
    const mfr = crypto.getRandomValues(new Uint8Array(16));
    secrets.set("manufacturer transport key", mfr);
    const mt = await call("POST", "/v1/admin/transport-keys", { json: { name: unique("mfr"), purpose: "manufacturer", key: toHex(mfr) } });
    const badKek = await wrap(crypto.getRandomValues(new Uint8Array(16)), crypto.getRandomValues(new Uint8Array(16)));
    await keep(await call("POST", "/v1/admin/meters", { json: { id: unique("MTR"), systemTitle: "00000000DEADBEEF", region: "logs-1", suite: 1, identityPublicKey: toHex(a.identity.publicKey), manufacturerKeys: { transportKeyId: mt.body.id, kek: toHex(badKek) } } }));
    await keep(await call("GET", "/v1/admin/meters", { token: "gk_not-a-token" }));
    await keep(await call("POST", "/v1/admin/transport-keys", { json: { name: unique("x"), purpose: "headend", key: toHex(tk).slice(2) } }));
    await keep(await call("POST", "/v1/admin/meters", { body: "{", contentType: "application/json" }));
    await keep(await call("GET", `/v1/admin/meters/${a.id}/export`, { token: await tokenFor("operator") }));
    for (const body of [Uint8Array.of(0x08, 0xfe), Uint8Array.of(0xf5, 1, 2), a.lastRecord ?? new Uint8Array(1)]) {
      const res = await post("/.well-known/edhoc?region=logs-1", "POST", body, "application/cid-edhoc+cbor-seq");
      errorBodies.push(toHex(new Uint8Array(await res.arrayBuffer())));
    }
    const replay = await a.send(a.lastRecord!, a.counter);
    expect(replay.status).toBe(409);
    errorBodies.push(toHex(replay.raw), new TextDecoder().decode(replay.raw));
    await readKeyStore();

    // Every secret the run made, in every encoding it could be printed in.
    for (const [name, value] of env.MASTER_KEYS.split(",").map((p) => p.split(":") as [string, string])) secrets.set(`master key ${name}`, fromHex(value));
    secrets.set("bootstrap token", new TextEncoder().encode(env.BOOTSTRAP_TOKEN));
    expect(secrets.size).toBeGreaterThan(15);
    const haystack = [...logged, ...errorBodies].join("\n");
    expect(errorBodies.length).toBeGreaterThan(8);
    for (const [name, value] of secrets) {
      for (const form of encodings(value)) {
        expect(haystack.includes(form), `${name} appears in the logs or an error body`).toBe(false);
      }
    }
  });
});

/** Hex (both cases), base64, base64url, and the text itself for tokens. */
function encodings(value: Uint8Array): string[] {
  const hex = toHex(value);
  const b64 = btoa(String.fromCharCode(...value));
  const forms = [hex, hex.toUpperCase(), b64.replace(/=+$/, ""), toBase64url(value)];
  const text = new TextDecoder().decode(value);
  if (/^[\x20-\x7e]{16,}$/.test(text)) forms.push(text);
  return forms;
}

function render(x: unknown): string {
  if (typeof x === "string") return x;
  if (x instanceof Error) return `${x.name}: ${x.message}\n${x.stack ?? ""}\n${x.cause === undefined ? "" : render(x.cause)}`;
  if (x instanceof Uint8Array) return toHex(x);
  try {
    return JSON.stringify(x, (_k, v) => (v instanceof Uint8Array ? toHex(v) : typeof v === "bigint" ? String(v) : v));
  } catch {
    return String(x);
  }
}
