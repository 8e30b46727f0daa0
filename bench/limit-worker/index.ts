/**
 * Bench-only worker (started by bench/run.ts under its own `wrangler dev`; never deployed).
 * It measures, inside workerd on this machine, what a concentrator handshake costs without
 * HTTP, RPC or storage: the physical limit of issue 6 item 3. And, to say where the time
 * goes under `wrangler dev`, the cost of the single storage operations a handshake makes.
 *
 *   POST /setup     builds the fixture: one real EDHOC run (noble initiator, gridkey's
 *                   WebCrypto responder) whose responder-side crypto calls are recorded,
 *                   and `meters` rows in this worker's own D1 (gridkey's schema)
 *   POST /concentrator/1, /concentrator/3?token=T&i=I   the `concentrator` loop's two halves
 *                   as two HTTP requests (message_1, message_3), for a load generator
 *   POST /graph/…   gridkey's real KeyGraph Durable Object, for the rekey section (graph.ts)
 *   POST /graph/cover   cover-keyed against tree-keyed programs over one region (cover.ts)
 *   POST /run?what=W&iterations=K[&parallel=P]   runs K iterations of W (in P concurrent
 *                   loops), answers {iterations, parallel, ms}
 *
 * W:
 *   crypto       replays the recorded responder crypto calls with their recorded inputs
 *                (ephemeral key generation, 3 ECDH, hashes, HKDF, AES-CCM of message_3),
 *                plus the session layer the concentrator runs on the same handshake
 *                (EDHOC_Exporter → 4 session values, AES-GCM open of the request that rode
 *                on message_3 and seal of its response, custody seal of the session keys)
 *   crypto:<op>  only the recorded calls of one kind (ecdh, hash, hkdfExpand, ...), or
 *                gcm-open, gcm-seal, custody-seal: where the crypto time goes
 *   responder    gridkey's EDHOC responder code end to end (EdhocResponder, CBOR, the
 *                session layer, custody seal) with injected ephemeral keys so the same
 *                message_1/message_3 stay valid; a fresh key pair is generated each time
 *                so its cost is kept. Protocol code + crypto, no I/O.
 *   rpc          2 Durable Object RPC calls (the edge → Concentrator calls of a handshake)
 *   storage      the Concentrator's storage pattern of one handshake, in 2 RPC calls:
 *                message_1: get s:<C_R>; message_3: get m:<meter>, put {s:, m:}, put s:
 *   d1           1 registry read (drizzle select by system title) from inside the DO
 *   concentrator the Concentrator's whole handshake minus HTTP, in a DO: 2 RPCs, the storage
 *                pattern, 2 registry reads, the responder code and session layer, in the
 *                order workers/concentrator.ts runs them (use `parallel` for N concurrent)
 *
 * Timing: measured here with performance.now() and returned as `ms`; bench/run.ts also
 * times the whole request from outside and uses the outside time when workerd's clock does
 * not advance during computation (it reports which one it used).
 */
import { DurableObject } from "cloudflare:workers";
import { p256 } from "@noble/curves/nist.js";
import { eq } from "drizzle-orm";
import { CborMap } from "../../edhoc/cbor";
import { makeCcs, type LocalCredential } from "../../edhoc/credentials";
import type { EdhocCryptoProvider, KeyPair } from "../../edhoc/crypto-provider";
import { EdhocInitiator } from "../../edhoc/initiator";
import { nobleProvider } from "../../edhoc/noble-provider";
import { EdhocResponder } from "../../edhoc/responder";
import { webCryptoProvider } from "../../edhoc/webcrypto-provider";
import { generateP256KeyPair, randomBytes, toBase64url, toHex, utf8 } from "../../functions/crypto";
import { type Custody, custodyFor } from "../../functions/custody";
import { database } from "../../functions/db";
import { webCryptoSessionAead } from "../../functions/session-aead";
import { meters } from "../../schema";
import {
  decodeRequestRecord,
  deriveSessionKeys,
  encodeRequestRecord,
  openRequest,
  type RequestRecord,
  sealRequest,
  sealResponse,
  type SessionKeys,
} from "../../wire/session-record";
import { type GraphEnv, graphRoute } from "./graph";

type BenchEnv = GraphEnv & { STORE: DurableObjectNamespace<BenchStore> };

// gridkey's own Durable Objects, unchanged, for the rekey section (bench/limit-worker/graph.ts).
export { CoverGraph } from "../../functions/cover-graph";
export { KeyGraph } from "../../functions/key-graph";
export { Concentrator } from "../../workers/concentrator";

type Op = { kind: string; run: () => Promise<unknown> };

/** The session layer's steps the concentrator runs on every handshake, after EDHOC. */
const SESSION_STEPS = ["gcm-open", "gcm-seal", "custody-seal"] as const;
const REGION = "bench-1";

type Fixture = {
  /** The responder's crypto calls of one real handshake, with copies of their inputs. */
  ops: Op[];
  keys: SessionKeys;
  record: RequestRecord;
  custody: Custody;
  replay: { message1: Uint8Array; message3: Uint8Array; concentrator: LocalCredential; meter: LocalCredential; y: KeyPair; cR: Uint8Array; record: Uint8Array };
  systemTitles: string[];
};

let fixture: Promise<Fixture> | undefined;

/** The fixture, from a Durable Object: the worker's when they share the isolate, else its own (no rows). */
function fixtureIn(env: BenchEnv): Promise<Fixture> {
  fixture ??= makeFixture(env, 0);
  return fixture;
}

export default {
  async fetch(request: Request, env: BenchEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") return Response.json({ status: "ok", service: "gridkey-bench-limit" });
    if (request.method === "POST" && url.pathname.startsWith("/graph/")) return graphRoute(request, env, url.pathname);
    if (request.method === "POST" && url.pathname === "/setup") {
      const rows = Number(url.searchParams.get("meters") ?? "1000");
      fixture = makeFixture(env, rows);
      const f = await fixture;
      return Response.json({ ops: countKinds(f.ops), sessionSteps: SESSION_STEPS, meters: f.systemTitles.length });
    }
    // The `concentrator` loop's two halves as two HTTP requests, like message_1 and message_3:
    // the same work as the edge, reached through wrangler dev's HTTP by a client without crypto.
    if (request.method === "POST" && url.pathname === "/concentrator/1") {
      if (!fixture) return Response.json({ error: "POST /setup first" }, { status: 409 });
      await fixture;
      const token = await env.STORE.get(env.STORE.idFromName(REGION)).concentratorMessage1();
      return Response.json({ token });
    }
    if (request.method === "POST" && url.pathname === "/concentrator/3") {
      if (!fixture) return Response.json({ error: "POST /setup first" }, { status: 409 });
      const f = await fixture;
      const n = Number(url.searchParams.get("i") ?? "0") % f.systemTitles.length;
      await env.STORE.get(env.STORE.idFromName(REGION)).concentratorMessage3(Number(url.searchParams.get("token")), f.systemTitles[n]!, `BENCH-${n}`);
      return new Response(null, { status: 204 });
    }
    if (request.method === "POST" && url.pathname === "/run") {
      if (!fixture) return Response.json({ error: "POST /setup first" }, { status: 409 });
      const f = await fixture;
      const what = url.searchParams.get("what") ?? "";
      const iterations = Number(url.searchParams.get("iterations") ?? "0");
      if (!Number.isInteger(iterations) || iterations < 0 || iterations > 100_000) return Response.json({ error: "iterations 0..100000" }, { status: 400 });
      const task = taskFor(what, f, env);
      if (!task) return Response.json({ error: `unknown what=${what}` }, { status: 400 });
      // `parallel` loops share the iterations: concurrent handshakes at one concentrator.
      const parallel = Math.max(1, Math.min(256, Number(url.searchParams.get("parallel") ?? "1") || 1));
      let next = 0;
      const loop = async () => {
        while (next < iterations) await task(next++);
      };
      const started = performance.now();
      await Promise.all(Array.from({ length: parallel }, loop));
      return Response.json({ what, iterations, parallel, ms: performance.now() - started });
    }
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<BenchEnv>;

function taskFor(what: string, f: Fixture, env: BenchEnv): ((i: number) => Promise<void>) | undefined {
  const stub = () => env.STORE.get(env.STORE.idFromName(REGION));
  switch (what) {
    case "crypto":
      return async () => {
        for (const op of f.ops) await op.run();
        await sessionStep(f, "gcm-open");
        await sessionStep(f, "gcm-seal");
        await sessionStep(f, "custody-seal");
      };
    case "responder":
      return () => responderHandshake(f);
    case "rpc":
      return async () => {
        const s = stub();
        await s.noop();
        await s.noop();
      };
    case "storage":
      return async (i) => {
        const s = stub();
        await s.message1Storage();
        await s.message3Storage(`BENCH-${i % 1000}`);
      };
    case "concentrator":
      return async (i) => {
        const s = stub();
        const n = i % f.systemTitles.length;
        const token = await s.concentratorMessage1();
        await s.concentratorMessage3(token, f.systemTitles[n]!, `BENCH-${n}`);
      };
    case "d1":
      return async (i) => {
        await stub().registryRead(f.systemTitles[i % f.systemTitles.length]!);
      };
  }
  if (what.startsWith("crypto:")) {
    const kind = what.slice("crypto:".length);
    if ((SESSION_STEPS as readonly string[]).includes(kind)) return () => sessionStep(f, kind as (typeof SESSION_STEPS)[number]);
    const ops = f.ops.filter((op) => op.kind === kind);
    if (ops.length === 0) return undefined;
    return async () => {
      for (const op of ops) await op.run();
    };
  }
  return undefined;
}

async function sessionStep(f: Fixture, step: (typeof SESSION_STEPS)[number]): Promise<void> {
  if (step === "gcm-open") await openRequest(webCryptoSessionAead, f.keys, f.record);
  else if (step === "gcm-seal") await sealResponse(webCryptoSessionAead, f.keys, f.record.connectionId, 1, { ok: true, result: new CborMap() });
  else await f.custody.seal(packKeys(f.keys), utf8(`gridkey/session-keys/v1|${REGION}|${toHex(f.record.connectionId)}`));
}

/** What workers/concentrator.ts runs for message_1 and message_3 of one handshake, minus I/O. */
async function responderHandshake(f: Fixture): Promise<void> {
  const r = f.replay;
  // The production responder generates its ephemeral key; the replay injects a fixed one (so
  // message_3 stays valid) and pays for a fresh one here.
  await webCryptoProvider.generateKeyPair("P-256");
  randomBytes(4);
  const responder = new EdhocResponder({
    provider: webCryptoProvider,
    methods: [3],
    suites: [2, 24],
    credential: () => r.concentrator,
    connectionId: r.cR,
    ephemeralKey: r.y,
    resolveCredential: () => r.meter.credential,
  });
  await responder.processMessage1(r.message1);
  await responder.message2();
  const { session } = await responder.processMessage3(r.message3);
  const keys = await deriveSessionKeys(session, 16);
  const record = decodeRequestRecord(r.record);
  await openRequest(webCryptoSessionAead, keys, record);
  await sealResponse(webCryptoSessionAead, keys, r.cR, record.counter, { ok: true, result: new CborMap() });
  await f.custody.seal(packKeys(keys), utf8(`gridkey/session-keys/v1|${REGION}|${toHex(r.cR)}`));
}

// ---------------------------------------------------------------------------------------

async function makeFixture(env: BenchEnv, rows: number): Promise<Fixture> {
  const custody = await custodyFor(env);
  const concentrator = await concentratorCredential();
  const meter = meterCredential("BENCH-METER", "42454E4300000001");

  // 1. One real handshake; the responder's crypto calls are recorded with copies of their inputs.
  const ops: Op[] = [];
  const initiator = new EdhocInitiator({ provider: nobleProvider, method: 3, suites: [2], credential: meter, resolveCredential: () => concentrator.credential });
  const responder = new EdhocResponder({
    provider: recording(webCryptoProvider, ops),
    methods: [3],
    suites: [2, 24],
    credential: () => concentrator,
    resolveCredential: () => meter.credential,
  });
  await responder.processMessage1(await initiator.message1());
  const { connectionIdResponder: cR } = await initiator.processMessage2(await responder.message2());
  const { session } = await responder.processMessage3(await initiator.message3());
  const keys = await deriveSessionKeys(session, 16); // the exporter's HKDF calls are recorded too
  const meterKeys = await deriveSessionKeys(initiator.session, 16);
  const record = decodeRequestRecord(await sealRequest(webCryptoSessionAead, meterKeys, cR, 1, { op: "ping", args: new CborMap() }));

  // 2. A deterministic exchange for the `responder` loop: both ephemeral keys injected.
  const x = await webCryptoProvider.generateKeyPair("P-256");
  const y = await webCryptoProvider.generateKeyPair("P-256");
  const cR2 = Uint8Array.of(0x0a, 0x0b, 0x0c, 0x0d);
  const i2 = new EdhocInitiator({ provider: nobleProvider, method: 3, suites: [2], credential: meter, ephemeralKey: x, connectionId: Uint8Array.of(0x37), resolveCredential: () => concentrator.credential });
  const r2 = new EdhocResponder({ provider: webCryptoProvider, methods: [3], suites: [2, 24], credential: () => concentrator, connectionId: cR2, ephemeralKey: y, resolveCredential: () => meter.credential });
  const message1 = await i2.message1();
  await r2.processMessage1(message1);
  await i2.processMessage2(await r2.message2());
  const message3 = await i2.message3();
  await r2.processMessage3(message3); // checks the replayed exchange is valid
  const keys2 = await deriveSessionKeys(i2.session, 16);
  const request2 = await sealRequest(webCryptoSessionAead, keys2, cR2, 1, { op: "ping", args: new CborMap() });
  // Only counter, ciphertext follow message_3 on the wire; the concentrator re-attaches C_R.
  const replay = { message1, message3, concentrator, meter, y, cR: cR2, record: encodeRequestRecord(decodeRequestRecord(request2)) };

  // 3. Registry rows in gridkey's schema, for the d1 loop.
  const systemTitles = await registryRows(env, rows);
  return { ops, keys, record, custody, replay, systemTitles };
}

async function concentratorCredential(): Promise<LocalCredential> {
  const pair = await generateP256KeyPair();
  const credential = makeCcs({ subject: `gridkey concentrator ${REGION}`, kid: Uint8Array.of(1, 2, 3, 4), curve: "P-256", x: pair.publicKey.slice(1, 33), y: pair.publicKey.slice(33) });
  return { credential, privateKey: pair.privateKey };
}

function meterCredential(id: string, systemTitle: string): LocalCredential {
  const privateKey = p256.utils.randomSecretKey();
  const point = p256.getPublicKey(privateKey, false);
  const kid = Uint8Array.from(systemTitle.match(/../g)!.map((h) => parseInt(h, 16)));
  return { credential: makeCcs({ subject: id, kid, curve: "P-256", x: point.slice(1, 33), y: point.slice(33) }), privateKey };
}

async function registryRows(env: BenchEnv, rows: number): Promise<string[]> {
  const now = Date.now();
  const titles: string[] = [];
  if (rows === 0) return titles;
  const point = toHex(p256.getPublicKey(p256.utils.randomSecretKey(), false));
  await env.DB.prepare("DELETE FROM meters WHERE id LIKE 'BENCH-%'").run();
  for (let at = 0; at < rows; at += 500) {
    const batch = [];
    for (let i = at; i < Math.min(rows, at + 500); i++) {
      const title = toHex(randomBytes(8)).toUpperCase();
      titles.push(title);
      batch.push(
        env.DB.prepare(
          "INSERT INTO meters (id, kind, system_title, region, suite, identity_curve, identity_public_key, state, created_at, updated_at) VALUES (?, 'meter', ?, ?, 1, 'P-256', ?, 'active', ?, ?)",
        ).bind(`BENCH-${i}`, title, REGION, point, now, now),
      );
    }
    await env.DB.batch(batch);
  }
  return titles;
}

/** The provider, with every call recorded as a replayable closure over copies of its inputs. */
function recording(inner: EdhocCryptoProvider, ops: Op[]): EdhocCryptoProvider {
  const copy = (b: Uint8Array) => b.slice();
  const rec = <T>(kind: string, run: () => Promise<T>): Promise<T> => {
    ops.push({ kind, run });
    return run();
  };
  return {
    name: `recording ${inner.name}`,
    supportsSuite: (suite) => inner.supportsSuite(suite),
    randomBytes: (n) => {
      ops.push({ kind: "randomBytes", run: async () => inner.randomBytes(n) });
      return inner.randomBytes(n);
    },
    generateKeyPair: (curve) => rec("generateKeyPair", () => inner.generateKeyPair(curve)),
    publicKey: (curve, k) => {
      const key = copy(k);
      return rec("publicKey", () => inner.publicKey(curve, key));
    },
    ecdh: (curve, k, peer) => {
      const [key, pub] = [copy(k), copy(peer)];
      return rec("ecdh", () => inner.ecdh(curve, key, pub));
    },
    hash: (alg, data) => {
      const d = copy(data);
      return rec("hash", () => inner.hash(alg, d));
    },
    hkdfExtract: (alg, salt, ikm) => {
      const [s, k] = [copy(salt), copy(ikm)];
      return rec("hkdfExtract", () => inner.hkdfExtract(alg, s, k));
    },
    hkdfExpand: (alg, prk, info, length) => {
      const [p, i] = [copy(prk), copy(info)];
      return rec("hkdfExpand", () => inner.hkdfExpand(alg, p, i, length));
    },
    aeadEncrypt: (alg, key, iv, aad, pt) => {
      const [k, n, a, p] = [copy(key), copy(iv), copy(aad), copy(pt)];
      return rec(`aeadEncrypt-${alg.mode}`, () => inner.aeadEncrypt(alg, k, n, a, p));
    },
    aeadDecrypt: (alg, key, iv, aad, ct) => {
      const [k, n, a, c] = [copy(key), copy(iv), copy(aad), copy(ct)];
      return rec(`aeadDecrypt-${alg.mode}`, () => inner.aeadDecrypt(alg, k, n, a, c));
    },
    sign: (alg, key, msg) => {
      const [k, m] = [copy(key), copy(msg)];
      return rec("sign", () => inner.sign(alg, k, m));
    },
    verify: (alg, pub, msg, sig) => {
      const [k, m, s] = [copy(pub), copy(msg), copy(sig)];
      return rec("verify", () => inner.verify(alg, k, m, s));
    },
  };
}

function countKinds(ops: Op[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const op of ops) out[op.kind] = (out[op.kind] ?? 0) + 1;
  return out;
}

/** As workers/concentrator.ts packs session keys before sealing them. */
function packKeys(k: SessionKeys): Uint8Array {
  return utf8(JSON.stringify([k.keyI2R, k.keyR2I, k.ivI2R, k.ivR2I].map(toBase64url)));
}

/**
 * A Durable Object with the Concentrator's storage pattern for one handshake (see
 * workers/concentrator.ts: freshConnectionId, storeSession, serve), and its registry read.
 */
export class BenchStore extends DurableObject<BenchEnv> {
  async noop(): Promise<number> {
    return 0;
  }

  /** message_1: freshConnectionId's check that C_R is unused. */
  async message1Storage(): Promise<void> {
    await this.ctx.storage.get(`s:${toHex(randomBytes(4))}`);
  }

  /** message_3: storeSession (index read, session + index write) and serve (counter write). */
  async message3Storage(meterId: string): Promise<void> {
    const id = toHex(randomBytes(4));
    const now = Date.now();
    const session = { meterId, systemTitle: "42454E4300000001", mkVersion: 1, sealedKeys: toBase64url(randomBytes(96)), lastCounter: 0, createdAt: now, expiresAt: now + 3_600_000 };
    const index = (await this.ctx.storage.get<string[]>(`m:${meterId}`)) ?? [];
    // Bounded here (production's index grows with every handshake of the meter).
    await this.ctx.storage.put({ [`s:${id}`]: session, [`m:${meterId}`]: [...index.slice(-4), id] });
    await this.ctx.storage.put(`s:${id}`, { ...session, lastCounter: 1 });
  }

  private readonly pending = new Map<number, { responder: EdhocResponder; lookup: { systemTitle: string } }>();
  private seq = 0;

  /**
   * message_1 as workers/concentrator.ts handles it, minus HTTP: the C_R uniqueness read,
   * a fresh ephemeral key pair, processMessage1 and message_2; the exchange waits in memory.
   */
  async concentratorMessage1(): Promise<number> {
    const f = await fixtureIn(this.env);
    await this.ctx.storage.get(`s:${toHex(randomBytes(4))}`);
    await webCryptoProvider.generateKeyPair("P-256");
    const r = f.replay;
    const db = database(this.env.DB);
    const lookup = { systemTitle: "" };
    const responder = new EdhocResponder({
      provider: webCryptoProvider,
      methods: [3],
      suites: [2, 24],
      credential: () => r.concentrator,
      connectionId: r.cR,
      ephemeralKey: r.y,
      resolveCredential: async () => {
        // resolveMeter: the registry read by system title (the row is a bench row; the credential the fixture's).
        await db.select().from(meters).where(eq(meters.systemTitle, lookup.systemTitle));
        return r.meter.credential;
      },
    });
    await responder.processMessage1(r.message1);
    await responder.message2();
    const token = ++this.seq;
    this.pending.set(token, { responder, lookup });
    return token;
  }

  /**
   * message_3 with the request riding on it, as workers/concentrator.ts handles it minus HTTP:
   * processMessage3 (with its registry read), session keys, custody seal, storeSession (index
   * read, session + index write), serve (the meter read, AES-GCM open, counter write, seal).
   */
  async concentratorMessage3(token: number, systemTitle: string, meterId: string): Promise<void> {
    const f = await fixtureIn(this.env);
    const { responder, lookup } = this.pending.get(token)!;
    this.pending.delete(token);
    lookup.systemTitle = systemTitle;
    const { session } = await responder.processMessage3(f.replay.message3);
    const keys = await deriveSessionKeys(session, 16);
    const id = toHex(randomBytes(4));
    const { mkVersion, sealed } = await f.custody.seal(packKeys(keys), utf8(`gridkey/session-keys/v1|${REGION}|${id}`));
    const now = Date.now();
    const stored = { meterId, systemTitle, mkVersion, sealedKeys: sealed, lastCounter: 0, createdAt: now, expiresAt: now + 3_600_000 };
    const index = (await this.ctx.storage.get<string[]>(`m:${meterId}`)) ?? [];
    await this.ctx.storage.put({ [`s:${id}`]: stored, [`m:${meterId}`]: [...index.slice(-4), id] });
    await database(this.env.DB).select().from(meters).where(eq(meters.id, meterId));
    const record = decodeRequestRecord(f.replay.record);
    await openRequest(webCryptoSessionAead, keys, record);
    await this.ctx.storage.put(`s:${id}`, { ...stored, lastCounter: record.counter });
    await sealResponse(webCryptoSessionAead, keys, f.replay.cR, record.counter, { ok: true, result: new CborMap() });
  }

  /** The registry read resolveMeter / meterOf make: one row by a unique column, through drizzle. */
  async registryRead(systemTitle: string): Promise<number> {
    const rows = await database(this.env.DB).select().from(meters).where(eq(meters.systemTitle, systemTitle));
    return rows.length;
  }
}
