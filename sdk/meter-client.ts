/**
 * MeterClient: one meter (or a gateway acting for one) talking to gridkey's concentrator.
 * It authenticates with EDHOC (method 3, the meter's static P-256 identity key), keeps the
 * session keys and request counter in memory, and re-runs the handshake by itself when the
 * server says the session is gone (unknown_session, session_expired). Requests are sent one
 * at a time: counters must arrive in increasing order, and a meter is one device anyway.
 */
import { p256, p384 } from "@noble/curves/nist.js";
import { CborMap, type CborValue } from "../edhoc/cbor.js";
import { makeCcs, type EdhocCredential, type LocalCredential } from "../edhoc/credentials.js";
import { MAX_COUNTER, sealRequest, type SessionRequest, type SessionResponse } from "../wire/session-record.js";
import { bytesOf, CredentialCache, type TrustAnchorInput } from "./credential-cache.js";
import { scAuthenticatedEncrypted, sealGloCiphering } from "./dlms.js";
import { isSessionGone, SdkError } from "./errors.js";
import { handshake, openSessionResponse, type Session } from "./handshake.js";
import { CWT_MEDIA_TYPE, EDGE_PATHS, EdgeHttp, SESSION_MEDIA_TYPE, type FetchLike } from "./http.js";
import { describeKey, unwrapKeyData, type DeliveredKey, type KeyClass, type KeyDescription } from "./key-unwrap.js";
import { nobleSessionAead } from "./noble-aead.js";
import { GroupKeys, type RekeyUpdate } from "./group-keys.js";

export type DlmsSuite = 0 | 1 | 2;

/** Where the meter keeps its DLMS invocation counters; a real meter persists them. */
export interface InvocationCounterStore {
  /** The next counter for this GUEK version: 1 first, then strictly increasing. */
  next(keyId: string, version: number): number | Promise<number>;
}

export type MeterClientOptions = {
  /** gridkey's edge, e.g. https://gridkey.example.com */
  baseUrl: string;
  region: string;
  meterId: string;
  /** The meter's 8-byte DLMS system title, hex; also its EDHOC kid. */
  systemTitle: string;
  /** The static identity private key: a P-256 scalar (32 bytes; P-384, 48 bytes, for DLMS suite 2). */
  identityKey: Uint8Array;
  /** The meter's KEK (unwraps delivered keys). A gateway has none: it never receives keys. */
  kek?: Uint8Array;
  /** DLMS security suite (default 1). Suites 0 and 1 use EDHOC suite 2 (P-256), suite 2 uses EDHOC suite 24 (P-384). */
  dlmsSuite?: DlmsSuite;
  /** Central's public key, provisioned at manufacture. */
  trustAnchor: TrustAnchorInput;
  /** Defaults to the global fetch; tests pass a worker's fetch. */
  fetch?: FetchLike;
  /** Share one cache among the clients of a gateway (same trust anchor). */
  credentialCache?: CredentialCache;
  /** Defaults to counters in memory, from 1 for each GUEK version. */
  invocationCounters?: InvocationCounterStore;
};

/** Delivered keys: every entry in delivery order, and the newest version of each class. */
export type FetchedKeys = { all: DeliveredKey[] } & Partial<Record<KeyClass, DeliveredKey>>;

export type KeyVersionRef = { keyId: string; version: number };

/** EDHOC suite, identity curve and AES key length for each DLMS suite. */
const PROFILE = {
  0: { edhocSuite: 2, curve: "P-256", keyLength: 16 },
  1: { edhocSuite: 2, curve: "P-256", keyLength: 16 },
  2: { edhocSuite: 24, curve: "P-384", keyLength: 32 },
} as const;

const MAX_INVOCATION_COUNTER = 0xffffffff;

export class MeterClient {
  readonly meterId: string;
  readonly region: string;
  readonly dlmsSuite: DlmsSuite;
  private readonly systemTitle: Uint8Array;
  private readonly http: EdgeHttp;
  private readonly own: LocalCredential;
  private readonly cache: CredentialCache;
  private readonly counters: InvocationCounterStore;
  /** The current KEK first, then the one it replaced (a delivery may cross a KEK change). */
  private keks: Uint8Array[];
  private delivered: DeliveredKey[] = [];
  private session: Session | undefined;
  private readonly groups: GroupKeys;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: MeterClientOptions) {
    this.meterId = requireText(options.meterId, "meterId");
    this.region = requireText(options.region, "region");
    this.dlmsSuite = checkSuite(options.dlmsSuite ?? 1);
    this.systemTitle = bytesOf(options.systemTitle, "systemTitle");
    if (this.systemTitle.length !== 8) throw new SdkError("bad_config", "systemTitle must be 8 bytes");
    this.keks = options.kek === undefined ? [] : [checkKek(options.kek, PROFILE[this.dlmsSuite].keyLength)];
    this.own = ownCredential(this.meterId, this.systemTitle, options.identityKey, this.dlmsSuite);
    this.cache = sharedCache(options.credentialCache, options.trustAnchor);
    this.counters = options.invocationCounters ?? memoryCounters();
    this.http = new EdgeHttp(options.baseUrl, this.region, options.fetch);
    this.groups = new GroupKeys(this.cache.trustAnchor, () => this.keks, this.region);
  }

  /** The meter's own CCS (CRED_I): what the server builds from the enrolled public key. */
  get credential(): EdhocCredential {
    return this.own.credential;
  }

  get connected(): boolean {
    return this.session !== undefined;
  }

  /** Runs EDHOC (with a ping as the first request) unless a session is already open. */
  connect(): Promise<void> {
    return this.serial(async () => {
      if (!this.session) await this.open({ op: "ping", args: new CborMap() });
    });
  }

  /** Sends one request in the session (opening one first if needed); resolves to the op's result. */
  async request(op: string, args: CborMap | Record<string, CborValue> = {}): Promise<CborMap> {
    const name = requireText(op, "op", "bad_parameter");
    return this.serial(() => this.call(name, args));
  }

  /** Fetches the keys the server has for this meter and unwraps them with the KEK. */
  async fetchKeys(): Promise<FetchedKeys> {
    if (this.keks.length === 0) throw new SdkError("no_kek", "this client has no KEK (a gateway never receives keys)");
    return this.serial(async () => {
      const result = await this.call("keys", {});
      const list = keyList(result.get("keys"));
      const keyData = result.get("keyData");
      if (!(keyData instanceof Uint8Array)) throw new SdkError("bad_response", "keys: keyData is a byte string");
      const keys = unwrapKeyData(keyData, list, this.keks);
      this.remember(keys);
      return byClass(keys);
    });
  }

  /**
   * Confirms installed key versions (those in state "new"). The server activates them; so does
   * the client: a new KEK becomes the one it unwraps with (after the meter persisted it).
   */
  async acknowledge(keys: readonly KeyVersionRef[]): Promise<number> {
    if (keys.length === 0) throw new SdkError("bad_parameter", "nothing to acknowledge");
    const refs = keys.map((k) => [requireText(k.keyId, "keyId", "bad_parameter"), k.version] as CborValue);
    return this.serial(async () => {
      const acknowledged = intField(await this.call("ack", { keys: refs }), "acknowledged");
      for (const k of keys) this.markActive(k);
      return acknowledged;
    });
  }

  /**
   * Protects an xDLMS APDU (e.g. a data-notification) with the installed GUEK and AK as a
   * general-glo-ciphering APDU and uploads it. Resolves to the invocation counter the server
   * recorded.
   */
  async uploadReading(plaintextApdu: Uint8Array, securityControl?: number): Promise<{ invocationCounter: number }> {
    const sc = securityControl ?? scAuthenticatedEncrypted(this.dlmsSuite);
    if ((sc & 0x0f) !== this.dlmsSuite) throw new SdkError("bad_parameter", `the security control byte must select DLMS suite ${this.dlmsSuite}`);
    // Without authentication the server could not tell which key (or whether any) protected it.
    if ((sc & 0x10) === 0) throw new SdkError("bad_parameter", "readings must be authenticated (security control bit 4)");
    // Counter, sealing and sending in one queued step: frames leave in counter order.
    return this.serial(async () => {
      const { guek, ak } = this.installed();
      const invocationCounter = await this.counters.next(guek.keyId, guek.version);
      if (!Number.isInteger(invocationCounter) || invocationCounter < 1 || invocationCounter > MAX_INVOCATION_COUNTER) {
        throw new SdkError("counter_exhausted", "the invocation counter of this GUEK is used up: a new GUEK is needed");
      }
      const header = { systemTitle: this.systemTitle, securityControl: sc, invocationCounter };
      const apdu = sealGloCiphering(header, { ek: guek.key, ak: ak.key }, plaintextApdu);
      return { invocationCounter: intField(await this.call("reading", { apdu }), "invocationCounter") };
    });
  }

  /**
   * Uploads a general-glo-ciphering APDU someone else protected: a gateway relaying a meter's
   * frame (the server checks it under that meter's keys and counters, never the gateway's).
   */
  async relayReading(apdu: Uint8Array): Promise<{ invocationCounter: number }> {
    if (!(apdu instanceof Uint8Array) || apdu.length === 0) throw new SdkError("bad_parameter", "apdu is a non-empty byte string");
    const result = await this.request("reading", { apdu });
    return { invocationCounter: intField(result, "invocationCounter") };
  }

  /**
   * Brings this meter's keys for a DR program up to date: nothing if current, the one epoch
   * it missed (its path only, proven against the signed bundle header), or a signed snapshot
   * of its path when it is new or further behind. Resolves to the program's group key.
   * A cover-keyed program's key comes wrapped under the meter's region tree, which is brought
   * up to date first when the view needs a newer region key. `region:<region>` names the
   * region's own tree (its root is the region's broadcast group key).
   */
  async rekey(program: string): Promise<{ epoch: number; key: Uint8Array }> {
    const name = requireText(program, "program", "bad_parameter");
    if (this.keks.length === 0) throw new SdkError("no_kek", "this client has no KEK (a gateway never receives keys)");
    return this.serial(async () => {
      await this.rekeyOne(name);
      const key = this.groups.groupKey(name);
      if (!key) throw new SdkError("rekey_incomplete", "no group key after the update");
      return key;
    });
  }

  private async rekeyOne(name: string): Promise<void> {
    const leaf = this.groups.leafOf(name);
    const update = rekeyUpdate(await this.call("rekey", { program: name, epoch: this.groups.epochOf(name), ...(leaf === undefined ? {} : { leaf }) }));
    try {
      this.groups.apply(name, update);
      return;
    } catch (err) {
      if (!(err instanceof SdkError) || !["rekey_incomplete", "rekey_out_of_order"].includes(err.code)) throw err;
    }
    const region = this.groups.regionTree;
    if (this.groups.isCover(name) && region !== undefined && name !== region) {
      await this.rekeyOne(region);
      try {
        this.groups.apply(name, update);
        return;
      } catch (err) {
        if (!(err instanceof SdkError) || !["rekey_incomplete", "rekey_out_of_order"].includes(err.code)) throw err;
      }
    }
    // A view that does not bring the group key (an entry withheld, or we are no longer a
    // member): start over from a signed snapshot, which the key graph itself answers.
    this.groups.forget(name);
    this.groups.apply(name, rekeyUpdate(await this.call("rekey", { program: name, epoch: 0 })));
  }

  /** Opens a DR command signed by central and sealed under a program's group key (see GroupKeys.openCommand). */
  openCommand(program: string, signed: Uint8Array): Uint8Array {
    return this.groups.openCommand(program, signed);
  }

  /** How many group keys this meter stores, over its region tree and all its programs (docs/groups.md §7). */
  storedGroupKeyCount(): number {
    return this.groups.storedKeyCount();
  }

  /** The group key held for a DR program, if any (after `rekey`). */
  groupKey(program: string): { epoch: number; key: Uint8Array } | undefined {
    return this.groups.groupKey(program);
  }

  /** Ends the session here (keys wiped) after any request in flight; a later call reconnects. */
  close(): Promise<void> {
    return this.serial(async () => this.dropSession());
  }

  /** One request and its result, inside a queued step (never call it outside `serial`). */
  private async call(op: string, args: CborMap | Record<string, CborValue>): Promise<CborMap> {
    const request = { op, args: args instanceof CborMap ? args : new CborMap(Object.entries(args)) };
    return resultOf(await this.send(request));
  }

  /** Runs `task` after every earlier one, whether they failed or not. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async send(request: SessionRequest): Promise<SessionResponse> {
    const session = this.session;
    if (!session || session.nextCounter > MAX_COUNTER) return this.open(request);
    try {
      return await this.sendInSession(session, request);
    } catch (e) {
      // The server never processed the request in a session it does not know: safe to resend.
      if (!isSessionGone(e)) throw e;
      this.dropSession();
      return this.open(request);
    }
  }

  private async sendInSession(session: Session, request: SessionRequest): Promise<SessionResponse> {
    const counter = session.nextCounter++;
    const record = await sealRequest(nobleSessionAead, session.keys, session.connectionId, counter, request);
    const bytes = await this.http.post(EDGE_PATHS.session, SESSION_MEDIA_TYPE, record, SESSION_MEDIA_TYPE);
    return openSessionResponse(session.keys, session.connectionId, counter, bytes);
  }

  /** A new EDHOC handshake carrying `first`; the session replaces any old one. */
  private async open(first: SessionRequest): Promise<SessionResponse> {
    this.dropSession();
    const profile = PROFILE[this.dlmsSuite];
    // The region's P-256 credential is the default; the P-384 one (suite 24) is asked for by curve.
    const query: Record<string, string> = profile.curve === "P-256" ? {} : { curve: profile.curve };
    const fetchCwt = () => this.http.get(EDGE_PATHS.credential, CWT_MEDIA_TYPE, query);
    const { session, response } = await handshake(
      {
        http: this.http,
        credential: this.own,
        suites: [profile.edhocSuite],
        resolveCredential: this.cache.resolver(this.http.url(EDGE_PATHS.credential, query), fetchCwt),
      },
      first,
    );
    this.session = session;
    return response;
  }

  private dropSession(): void {
    const keys = this.session?.keys;
    if (keys) for (const k of [keys.keyI2R, keys.keyR2I, keys.ivI2R, keys.ivR2I]) k.fill(0);
    this.session = undefined;
  }

  /**
   * Keeps copies of delivered keys (the caller's are theirs to keep or wipe). Merged, not
   * replaced: while a new version waits for acknowledgement the server sends it instead of
   * the active one, which the meter keeps using until it acknowledges.
   */
  private remember(keys: readonly DeliveredKey[]): void {
    for (const k of keys) {
      const same = this.delivered.findIndex((d) => d.keyId === k.keyId && d.version === k.version);
      const copy = { ...k, key: k.key.slice() };
      if (same < 0) this.delivered.push(copy);
      else this.delivered.splice(same, 1, copy)[0]!.key.fill(0);
    }
  }

  /** After an acknowledgement the version is active and the versions it replaced are retired. */
  private markActive(ref: KeyVersionRef): void {
    const key = this.delivered.find((k) => k.keyId === ref.keyId && k.version === ref.version);
    if (!key || key.state === "active") return;
    key.state = "active";
    for (const old of this.delivered.filter((k) => k.keyId === key.keyId && k.version < key.version)) old.key.fill(0);
    this.delivered = this.delivered.filter((k) => k.keyId !== key.keyId || k.version >= key.version);
    if (key.keyClass === "kek") this.keks = [key.key.slice(), ...this.keks.slice(0, 1)];
  }

  /** The newest active (or acknowledged) GUEK and AK. */
  private installed(): { guek: DeliveredKey; ak: DeliveredKey } {
    const active = byClass(this.delivered.filter((k) => k.state === "active"));
    if (!active.guek || !active.ak) throw new SdkError("no_keys", "no active GUEK and AK: call fetchKeys (and acknowledge new versions) first");
    return { guek: active.guek, ak: active.ak };
  }
}

function resultOf(response: SessionResponse): CborMap {
  if (response.ok) return response.result;
  throw new SdkError(response.code, response.message.slice(0, 200), { source: "op" });
}

function byClass(keys: DeliveredKey[]): FetchedKeys {
  const out: FetchedKeys = { all: keys };
  for (const k of keys) {
    const seen = out[k.keyClass];
    if (!seen || k.version > seen.version) out[k.keyClass] = k;
  }
  return out;
}

function keyList(value: CborValue | undefined): KeyDescription[] {
  if (!Array.isArray(value)) throw new SdkError("bad_response", "keys: keys is an array");
  return value.map((entry) => {
    if (!Array.isArray(entry) || entry.length !== 5) throw new SdkError("bad_response", "a key list entry is [class, dlmsKeyId, keyId, version, state]");
    return describeKey(...(entry as [CborValue, CborValue, CborValue, CborValue, CborValue]));
  });
}

function intField(result: CborMap, name: string): number {
  const v = result.get(name);
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new SdkError("bad_response", `${name} is an integer`);
  return v;
}

function requireText(value: unknown, field: string, code: "bad_config" | "bad_parameter" = "bad_config"): string {
  if (typeof value !== "string" || value === "") throw new SdkError(code, `${field} must be a non-empty string`);
  return value;
}

function checkSuite(suite: unknown): DlmsSuite {
  if (suite !== 0 && suite !== 1 && suite !== 2) throw new SdkError("bad_config", "dlmsSuite must be 0, 1 or 2");
  return suite;
}

function checkKek(kek: unknown, length: number): Uint8Array {
  if (!(kek instanceof Uint8Array) || kek.length !== length) throw new SdkError("bad_config", `kek must be ${length} bytes for this DLMS suite`);
  return kek.slice();
}

/** CRED_I exactly as the server derives it from the enrolled key: { 2: meterId, 8: { 1: COSE_Key kid=system title } }. */
function ownCredential(meterId: string, systemTitle: Uint8Array, identityKey: Uint8Array, suite: DlmsSuite): LocalCredential {
  const curve = PROFILE[suite].curve;
  const ec = curve === "P-256" ? p256 : p384;
  if (!(identityKey instanceof Uint8Array) || !ec.utils.isValidSecretKey(identityKey)) {
    throw new SdkError("bad_config", `identityKey must be a ${curve} private scalar`);
  }
  const point = ec.getPublicKey(identityKey, false);
  const n = (point.length - 1) / 2;
  const credential = makeCcs({ subject: meterId, kid: systemTitle, curve, x: point.slice(1, 1 + n), y: point.slice(1 + n) });
  return { credential, privateKey: identityKey.slice() };
}

function sharedCache(cache: CredentialCache | undefined, anchor: TrustAnchorInput): CredentialCache {
  const own = new CredentialCache(anchor); // validates the anchor either way
  if (!cache) return own;
  const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(cache.trustAnchor.kid, own.trustAnchor.kid) || !same(cache.trustAnchor.publicKey, own.trustAnchor.publicKey)) {
    throw new SdkError("bad_config", "credentialCache has another trust anchor than trustAnchor");
  }
  return cache;
}

/** In-memory counters, one per GUEK version, from 1. */
function memoryCounters(): InvocationCounterStore {
  const last = new Map<string, number>();
  return {
    next(keyId, version) {
      const id = `${keyId}#${version}`;
      const n = (last.get(id) ?? 0) + 1;
      last.set(id, n);
      return n;
    },
  };
}

function rekeyUpdate(result: CborMap): RekeyUpdate {
  const kind = result.get("kind");
  if (kind === "current") return { kind };
  const view = result.get("view");
  if (kind === "view" && view instanceof Uint8Array) return { kind, view };
  const signed = result.get("snapshot");
  if (kind === "snapshot" && signed instanceof Uint8Array) return { kind, signed };
  throw new SdkError("bad_response", "rekey: kind is current, view or snapshot");
}
