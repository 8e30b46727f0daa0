import { DurableObject } from "cloudflare:workers";
import { CborReader } from "../edhoc/cbor";
import type { EdhocCredential } from "../edhoc/credentials";
import { EdhocError, encodeErrorMessage, ERR_UNSPECIFIED } from "../edhoc/errors";
import { EdhocResponder } from "../edhoc/responder";
import { getSuite } from "../edhoc/suites";
import { EDHOC_RESPONSE_MEDIA_TYPE, parseRequest } from "../edhoc/transport";
import { webCryptoProvider } from "../edhoc/webcrypto-provider";
import type { AuditContext } from "../functions/audit-log";
import { auditEdgeRefusal } from "../functions/edge-refusals";
import { type ConcentratorCredential, concentratorCredential, type ConcentratorCurve, credentialExpiry } from "../functions/concentrator-credential";
import { fromBase64url, randomBytes, toBase64url, toHex, utf8 } from "../functions/crypto";
import { type Custody, custodyFor } from "../functions/custody";
import { database, type Db } from "../functions/db";
import type { MeterRow } from "../functions/enrollment";
import { GridkeyError, toGridkeyError, type ErrorCode } from "../functions/errors";
import { meterCredential } from "../functions/meter-credentials";
import { effectivePolicy } from "../functions/policies";
import { EdgeLimiter } from "../functions/rate-limits";
import { type RpcResult, rpcResult } from "../functions/rpc";
import { webCryptoSessionAead } from "../functions/session-aead";
import { meters } from "../schema";
import { eq } from "drizzle-orm";
import {
  decodeRequestRecord,
  deriveSessionKeys,
  openRequest,
  type RequestRecord,
  sealResponse,
  type SessionKeys,
  type SessionRequest,
  type SessionResponse,
} from "../wire/session-record";
import { runOperation } from "./session-operations";
import type { Keying } from "../functions/rekey-bundles";

/** What the edge sends back to the meter: the bytes and how to label them. */
/** `retryAfter`: seconds, on a rate-limit refusal (the Retry-After header). */
export type EdgeReply = { status: number; contentType: string; body: Uint8Array; errorCode?: ErrorCode; retryAfter?: number };

export const SESSION_MEDIA_TYPE = "application/gridkey-session+cbor-seq";
const EXCHANGE_LIFETIME_MS = 60_000;
const MAX_PENDING = 10_000;
const CONNECTION_ID_BYTES = 4;
/**
 * EDHOC cipher suites offered: 2 (P-256, AES-CCM, the default profile) and 24 (P-384,
 * A256GCM: DLMS security suite 2 meters). The session layer's AES-GCM key is as long as the
 * suite's application AEAD key: 16 bytes for suite 2, 32 for suite 24.
 */
const SUITES = [2, 24];

type Pending = { responder: EdhocResponder; expiresAt: number; keyLength: number; peer: { meter?: MeterRow } };

/** A session as stored: keys sealed under the master key, never in the clear at rest. */
type StoredSession = {
  meterId: string;
  systemTitle: string;
  mkVersion: number;
  sealedKeys: string;
  lastCounter: number;
  createdAt: number;
  expiresAt: number;
};

type LiveSession = StoredSession & { connectionId: Uint8Array; keys: SessionKeys };

/** The newest rekey bundle of a program, as the key graph pushed it (all of it public). */
/** `degree`: of the program's tree, or of the region trees for a cover-keyed program. */
export type CachedBundle = { epoch: number; degree: number; header: Uint8Array; entries: Uint8Array; keying?: Keying };

/**
 * A region's concentrator (DESIGN.md §2): terminates EDHOC meter sessions, enforces their
 * counters, and serves key delivery and reading uploads inside them. One instance per
 * region; its storage holds sessions and counters so that a restart never lets a replay in.
 * EDHOC exchanges between message_2 and message_3 live only in memory for a minute: losing
 * one to a restart costs the meter a new handshake, never a weaker check.
 */
export class Concentrator extends DurableObject<Env> {
  private readonly pending = new Map<string, Pending>();
  private readonly live = new Map<string, LiveSession>();
  private readonly bundles = new Map<string, CachedBundle>();
  private readonly credentials = new Map<ConcentratorCurve, { expiresAt: number; credential: Promise<ConcentratorCredential> }>();
  /** In memory only: a restart refills every bucket, which errs towards serving meters. */
  private readonly limiter = new EdgeLimiter(this.env);

  /** The region's credential, signed by central: meters fetch it once and cache it by kid. */
  async credentialCwt(region: string, curve: ConcentratorCurve, requestId: string): Promise<RpcResult<Uint8Array>> {
    return rpcResult(async () => (await this.ownCredential(region, curve, requestId)).cwt);
  }

  /**
   * POST /.well-known/edhoc: message_1 (prefixed `true`) or message_3 (prefixed C_R).
   * `address`: the client's (CF-Connecting-IP), charged before any parsing or crypto.
   */
  async edhoc(region: string, body: Uint8Array, requestId: string, address = "(none)"): Promise<EdgeReply> {
    const limited = await this.limitAddress(region, requestId, address);
    if (limited) return limited;
    try {
      const request = parseRequest(body);
      if (request.kind === "message_1") return await this.message1(region, request.message, requestId);
      return await this.message3(region, request.connectionIdResponder, request.message, requestId);
    } catch (err) {
      return this.refuse(region, requestId, err);
    }
  }

  /** POST /v1/edge/session: one protected request of an established session. */
  async session(region: string, body: Uint8Array, requestId: string, address = "(none)"): Promise<EdgeReply> {
    const limited = await this.limitAddress(region, requestId, address);
    if (limited) return limited;
    try {
      return await this.request(region, decodeRequestRecord(body), requestId);
    } catch (err) {
      return this.refuse(region, requestId, err);
    }
  }

  /**
   * The key graph pushes each new epoch of a program with members in this region: kept (the
   * newest only) to answer members one epoch behind without asking the graph, and announced
   * to the meters subscribed over WebSocket, who then fetch their part through their session.
   */
  async cacheBundle(program: string, epoch: number, degree: number, header: Uint8Array, entries: Uint8Array, keying: Keying): Promise<void> {
    const cached = await this.cachedBundle(program);
    if (cached && cached.epoch >= epoch) return;
    const bundle: CachedBundle = { epoch, degree, header, entries, keying };
    this.bundles.set(program, bundle);
    // A cache: the key graph keeps every bundle, so the push need not wait for this write to be confirmed.
    await this.ctx.storage.put(`b:${program}`, bundle, { allowUnconfirmed: true });
    const note = JSON.stringify({ program, epoch });
    for (const ws of this.ctx.getWebSockets(program)) {
      try {
        ws.send(note);
      } catch {
        // a socket closing under us: the meter polls when it comes back
      }
    }
  }

  async cachedBundle(program: string): Promise<CachedBundle | undefined> {
    let b = this.bundles.get(program);
    if (!b) {
      b = await this.ctx.storage.get<CachedBundle>(`b:${program}`);
      if (b) this.bundles.set(program, b);
    }
    return b;
  }

  /** GET /v1/edge/subscribe: a hibernatable WebSocket tagged with the programs to hear about. */
  override async fetch(request: Request): Promise<Response> {
    const programs = (new URL(request.url).searchParams.get("programs") ?? "").split(",").filter(Boolean);
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket" || programs.length === 0 || programs.length > 10 || programs.some((p) => !/^(region:)?[A-Za-z0-9_-]{1,64}$/.test(p))) {
      return Response.json({ error: { code: "bad_parameter", message: "upgrade to a WebSocket with ?programs=<1 to 10 program ids, or region:<region> for the region's tree>" } }, { status: 400 });
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, programs);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Subscribers only listen; anything they send is ignored. */
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(ws: WebSocket): Promise<void> {
    ws.close(1000, "closing");
  }

  /**
   * After a compromise: every session, pending exchange, cached bundle and credential goes.
   * The reading counters stay, so no replay gets in while meters reconnect.
   */
  async resetAfterCompromise(): Promise<number> {
    const sessions = await this.ctx.storage.list({ prefix: "s:" });
    const indexes = await this.ctx.storage.list({ prefix: "m:" });
    const bundles = await this.ctx.storage.list({ prefix: "b:" });
    await this.ctx.storage.delete([...sessions.keys(), ...indexes.keys(), ...bundles.keys()]);
    this.live.clear();
    this.pending.clear();
    this.bundles.clear();
    this.credentials.clear();
    return sessions.size;
  }

  /** Ends every session of a meter at once (it was suspended or revoked). */
  async dropMeter(meterId: string): Promise<number> {
    const ids = (await this.ctx.storage.get<string[]>(`m:${meterId}`)) ?? [];
    await this.ctx.storage.delete([...ids.map((id) => `s:${id}`), `m:${meterId}`]);
    for (const id of ids) this.live.delete(id);
    return ids.length;
  }

  private async message1(region: string, message: Uint8Array, requestId: string): Promise<EdgeReply> {
    this.expireExchanges();
    const [p256, p384] = await Promise.all([this.ownCredential(region, "P-256", requestId), this.ownCredential(region, "P-384", requestId)]);
    const connectionId = await this.freshConnectionId();
    const peer: { meter?: MeterRow } = {};
    const responder = new EdhocResponder({
      provider: webCryptoProvider,
      methods: [3],
      suites: SUITES,
      credential: (suite) => (suite.curve === "P-384" ? p384 : p256).local,
      connectionId,
      resolveCredential: async (kid) => {
        const found = await this.resolveMeter(region, kid);
        peer.meter = found?.meter;
        return found?.credential;
      },
    });
    const { selectedSuite } = await responder.processMessage1(message);
    const message2 = await responder.message2();
    const keyLength = getSuite(selectedSuite)!.appAead.keyLength;
    this.pending.set(toHex(connectionId), { responder, peer, keyLength, expiresAt: Date.now() + EXCHANGE_LIFETIME_MS });
    return { status: 200, contentType: EDHOC_RESPONSE_MEDIA_TYPE, body: message2 };
  }

  private async message3(region: string, connectionId: Uint8Array, rest: Uint8Array, requestId: string): Promise<EdgeReply> {
    const { message3, record } = splitMessage3(rest);
    const key = toHex(connectionId);
    const pending = this.pending.get(key);
    // Consumed before use: a replayed message_3 finds nothing and creates nothing.
    this.pending.delete(key);
    if (!pending || pending.expiresAt < Date.now()) {
      throw new GridkeyError("unknown_exchange", "no EDHOC exchange is waiting for this message_3 (unknown, used or expired)");
    }
    let session;
    try {
      ({ session } = await pending.responder.processMessage3(message3));
    } catch (err) {
      if (!(err instanceof GridkeyError)) throw err;
      // Raised while resolving ID_CRED_I (revoked, suspended, other region): an EDHOC error message.
      await this.auditRefusal(region, requestId, err);
      return { status: err.status, contentType: EDHOC_RESPONSE_MEDIA_TYPE, body: encodeErrorMessage(ERR_UNSPECIFIED, err.code), errorCode: err.code };
    }
    const meter = pending.peer.meter!;
    const keys = await deriveSessionKeys(session, pending.keyLength);
    const live = await this.storeSession(region, connectionId, meter, keys);
    if (!record) return { status: 204, contentType: SESSION_MEDIA_TYPE, body: new Uint8Array(0) };
    // The registry was read a moment ago to resolve ID_CRED_I: no second read for this request.
    return this.serve(region, live, { connectionId, ...record }, requestId, meter);
  }

  /** ID_CRED_I → the meter's CCS, refusing meters of other regions or not active. */
  private async resolveMeter(region: string, kid: Uint8Array): Promise<{ meter: MeterRow; credential: EdhocCredential } | undefined> {
    if (kid.length !== 8) return undefined;
    const [meter] = await this.db().select().from(meters).where(eq(meters.systemTitle, toHex(kid).toUpperCase()));
    if (!meter) return undefined;
    checkMeterUsable(meter, region);
    return { meter, credential: meterCredential(meter) };
  }

  private async request(region: string, record: RequestRecord, requestId: string): Promise<EdgeReply> {
    const live = await this.loadSession(region, record.connectionId);
    return this.serve(region, live, record, requestId);
  }

  /** Checks the counter, opens the request, persists the counter, then runs the operation. */
  private async serve(region: string, live: LiveSession, record: RequestRecord, requestId: string, known?: MeterRow): Promise<EdgeReply> {
    const meter = known ?? (await this.meterOf(live, region));
    if (record.counter <= live.lastCounter) {
      throw new GridkeyError("replayed_message", `counter ${record.counter} is not above ${live.lastCounter}`, { meterId: meter.id });
    }
    let request: SessionRequest;
    try {
      request = await openRequest(webCryptoSessionAead, live.keys, record);
    } catch {
      throw new GridkeyError("bad_mac", "the session request does not authenticate", { meterId: meter.id });
    }
    // Checked again with no await before the update: copies of one record arriving together
    // all pass the first check while the first one is being opened; only one may be served.
    if (record.counter <= live.lastCounter) {
      throw new GridkeyError("replayed_message", `counter ${record.counter} is not above ${live.lastCounter}`, { meterId: meter.id });
    }
    live.lastCounter = record.counter;
    await this.ctx.storage.put(`s:${toHex(live.connectionId)}`, stored(live));
    // Charged once the request authenticated (so only the meter can spend its own bucket),
    // and after its counter is used up, so a refused request can never be replayed later.
    const wait = this.limiter.meters.take(meter.id);
    if (wait !== undefined) return this.rateLimited(region, requestId, `meter:${meter.id}`, wait, meter.id);
    const response = await this.operate(region, meter, request, requestId);
    const body = await sealResponse(webCryptoSessionAead, live.keys, live.connectionId, record.counter, response);
    return { status: 200, contentType: SESSION_MEDIA_TYPE, body };
  }

  /** Runs an operation; refusals inside a working session travel encrypted, as [1, code, message]. */
  private async operate(region: string, meter: MeterRow, request: SessionRequest, requestId: string): Promise<SessionResponse> {
    const audit: AuditContext = { actor: { id: `${meter.kind}:${meter.id}`, role: meter.kind }, requestId };
    try {
      const result = await runOperation({ db: this.db(), custody: await this.custody(), storage: this.ctx.storage, audit, env: this.env, region, device: meter, cachedBundle: (p) => this.cachedBundle(p) }, request);
      return { ok: true, result };
    } catch (err) {
      const e = toGridkeyError(err);
      if (e.status >= 500) throw e;
      await this.auditRefusal(region, requestId, e, meter.id);
      return { ok: false, code: e.code, message: e.message };
    }
  }

  private async meterOf(live: LiveSession, region: string): Promise<MeterRow> {
    const [meter] = await this.db().select().from(meters).where(eq(meters.id, live.meterId));
    if (!meter) throw new GridkeyError("unknown_meter", "the session's meter is no longer enrolled");
    checkMeterUsable(meter, region);
    return meter;
  }

  private async storeSession(region: string, connectionId: Uint8Array, meter: MeterRow, keys: SessionKeys): Promise<LiveSession> {
    const now = Date.now();
    const id = toHex(connectionId);
    const { mkVersion, sealed } = await (await this.custody()).seal(packKeys(keys), sessionAad(region, id));
    const live: LiveSession = {
      meterId: meter.id,
      systemTitle: meter.systemTitle,
      mkVersion,
      sealedKeys: sealed,
      lastCounter: 0,
      createdAt: now,
      expiresAt: now + (await this.sessionLifetimeMs(region)),
      connectionId,
      keys,
    };
    // A meter's index keeps only its sessions still alive: the ones past their lifetime go, with their records.
    const index = (await this.ctx.storage.get<string[]>(`m:${meter.id}`)) ?? [];
    const records = await this.ctx.storage.get<StoredSession>(index.map((s) => `s:${s}`));
    const expired = index.filter((s) => (records.get(`s:${s}`)?.expiresAt ?? 0) <= now);
    if (expired.length > 0) await this.ctx.storage.delete(expired.map((s) => `s:${s}`));
    const alive = index.filter((s) => !expired.includes(s) && s !== id);
    await this.ctx.storage.put({ [`s:${id}`]: stored(live), [`m:${meter.id}`]: [...alive, id] });
    this.live.set(id, live);
    return live;
  }

  private async loadSession(region: string, connectionId: Uint8Array): Promise<LiveSession> {
    const id = toHex(connectionId);
    let live = this.live.get(id);
    if (!live) {
      const s = await this.ctx.storage.get<StoredSession>(`s:${id}`);
      if (!s) throw new GridkeyError("unknown_session", "no session with this connection identifier");
      const custody = await this.custody();
      if (!custody.holds(s.mkVersion)) {
        // Sealed under a master-key version since retired (sessions are not re-sealed: they
        // expire): the session is gone, and the meter runs EDHOC again.
        await this.ctx.storage.delete(`s:${id}`);
        throw new GridkeyError("unknown_session", "the session was sealed under a retired master key; run EDHOC again", { meterId: s.meterId });
      }
      const keys = unpackKeys(await custody.open(s.mkVersion, s.sealedKeys, sessionAad(region, id)));
      // Requests arriving together after an eviction each load the session: they must share
      // one object, or each would check its own copy of the counter.
      live = this.live.get(id) ?? { ...s, connectionId, keys };
      this.live.set(id, live);
    }
    if (live.expiresAt <= Date.now()) {
      this.live.delete(id);
      await this.ctx.storage.delete(`s:${id}`);
      throw new GridkeyError("session_expired", "the session has expired; run EDHOC again", { meterId: live.meterId });
    }
    return live;
  }

  private async freshConnectionId(): Promise<Uint8Array> {
    for (;;) {
      const id = randomBytes(CONNECTION_ID_BYTES);
      const key = toHex(id);
      if (!this.pending.has(key) && !this.live.has(key) && !(await this.ctx.storage.get(`s:${key}`))) return id;
    }
  }

  private expireExchanges(): void {
    const now = Date.now();
    for (const [key, p] of this.pending) if (p.expiresAt < now) this.pending.delete(key);
    // Bounded memory: the oldest exchanges give way first.
    while (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
  }

  /**
   * Every refusal leaves the edge as a stable code. EDHOC failures carry the EDHOC error
   * message (ERR_CODE 2 with SUITES_R for suite negotiation). Every refusal is audited.
   */
  private async refuse(region: string, requestId: string, err: unknown): Promise<EdgeReply> {
    if (err instanceof EdhocError) {
      const code: ErrorCode = err.code === "wrong_selected_suite" ? "unsupported_suite" : err.code === "unknown_credential" ? "unknown_meter" : "edhoc_failed";
      await this.auditRefusal(region, requestId, new GridkeyError(code, err.message));
      return { status: 400, contentType: EDHOC_RESPONSE_MEDIA_TYPE, body: err.errorMessage ?? new Uint8Array(0), errorCode: code };
    }
    const e = toGridkeyError(err);
    if (e.status >= 500) throw err;
    await this.auditRefusal(region, requestId, e);
    return { status: e.status, contentType: "application/json", body: utf8(JSON.stringify({ error: { code: e.code, message: e.message } })), errorCode: e.code };
  }

  private async limitAddress(region: string, requestId: string, address: string): Promise<EdgeReply | undefined> {
    const wait = this.limiter.addresses.take(address);
    return wait === undefined ? undefined : this.rateLimited(region, requestId, `address:${address}`, wait);
  }

  /** 429 with Retry-After; audited once a minute per key with the count it did not record. */
  private async rateLimited(region: string, requestId: string, key: string, retryAfter: number, meterId?: string): Promise<EdgeReply> {
    const unrecorded = this.limiter.refusals.record(key);
    if (unrecorded !== undefined) {
      // The address names the noisy host or gateway for the operator; a meter is named as the target.
      const [limit, ...rest] = key.split(":");
      const extra: Record<string, string | number> = limit === "address" ? { limit, address: rest.join(":"), unrecorded } : { limit: limit!, unrecorded };
      await auditEdgeRefusal(this.db(), requestId, region, "rate_limited", meterId, extra);
    }
    const body = { error: { code: "rate_limited", message: `too many requests: retry in ${retryAfter} s` } };
    return { status: 429, contentType: "application/json", body: utf8(JSON.stringify(body)), errorCode: "rate_limited", retryAfter };
  }

  private async auditRefusal(region: string, requestId: string, e: GridkeyError, meterId?: string): Promise<void> {
    const target = meterId ?? (e.details as { meterId?: string } | undefined)?.meterId;
    await auditEdgeRefusal(this.db(), requestId, region, e.code, target);
  }

  /** The credential of the current period (concentrator-credential.ts), made once per period and curve. */
  private ownCredential(region: string, curve: ConcentratorCurve, requestId: string): Promise<ConcentratorCredential> {
    const expiresAt = credentialExpiry(Date.now());
    let cached = this.credentials.get(curve);
    if (!cached || cached.expiresAt !== expiresAt) {
      const credential = this.custody().then((custody) => concentratorCredential(this.db(), custody, region, curve, requestId));
      credential.catch(() => this.credentials.delete(curve));
      cached = { expiresAt, credential };
      this.credentials.set(curve, cached);
    }
    return cached.credential;
  }

  /** The session policy in force for the region (functions/policies.ts): no redeploy to change it. */
  private async sessionLifetimeMs(region: string): Promise<number> {
    return (await effectivePolicy(this.db(), "session", { region })).sessionLifetimeSeconds! * 1000;
  }

  private db(): Db {
    return database(this.env.DB);
  }

  private custody(): Promise<Custody> {
    return custodyFor(this.env);
  }
}

function checkMeterUsable(meter: MeterRow, region: string): void {
  if (meter.state === "revoked") throw new GridkeyError("meter_revoked", "the meter is revoked", { meterId: meter.id });
  if (meter.state === "suspended") throw new GridkeyError("meter_suspended", "the meter is suspended", { meterId: meter.id });
  if (meter.region !== region) throw new GridkeyError("wrong_region", "the meter belongs to another region", { meterId: meter.id });
}

/** message_3 is one CBOR byte string; a session request record (counter, ciphertext) may follow. */
function splitMessage3(rest: Uint8Array): { message3: Uint8Array; record?: { counter: number; ciphertext: Uint8Array } } {
  const reader = new CborReader(rest);
  const first = reader.nextWithRaw();
  if (reader.atEnd) return { message3: first.raw };
  const { counter, ciphertext } = decodeRequestRecord(rest.subarray(reader.offset), new Uint8Array(0));
  return { message3: first.raw, record: { counter, ciphertext } };
}

function stored(live: LiveSession): StoredSession {
  const { connectionId: _id, keys: _keys, ...rest } = live;
  return rest;
}

function sessionAad(region: string, connectionIdHex: string): Uint8Array {
  return utf8(`gridkey/session-keys/v1|${region}|${connectionIdHex}`);
}

function packKeys(k: SessionKeys): Uint8Array {
  return utf8(JSON.stringify([k.keyI2R, k.keyR2I, k.ivI2R, k.ivR2I].map(toBase64url)));
}

function unpackKeys(bytes: Uint8Array): SessionKeys {
  const [keyI2R, keyR2I, ivI2R, ivR2I] = (JSON.parse(new TextDecoder().decode(bytes)) as string[]).map(fromBase64url);
  return { keyI2R: keyI2R!, keyR2I: keyR2I!, ivI2R: ivI2R!, ivR2I: ivR2I! };
}
