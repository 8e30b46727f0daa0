import { exports } from "cloudflare:workers";
import { CborMap } from "../../edhoc/cbor";
import { makeCcs, parseCcs, type EdhocCredential } from "../../edhoc/credentials";
import { EdhocInitiator } from "../../edhoc/initiator";
import { continueRequest, message1Request } from "../../edhoc/transport";
import { webCryptoProvider } from "../../edhoc/webcrypto-provider";
import { fromHex, generateP256KeyPair, generateP384KeyPair, sealGloCiphering, toHex, unwrap, verify, wrap } from "../../functions/crypto";
import { webCryptoSessionAead } from "../../functions/session-aead";
import { decodeCwt, sigStructure } from "../../wire/cwt";
import { decodeKeyData } from "../../wire/key-transfer";
import { deriveSessionKeys, openResponse, sealRequest, type SessionKeys, type SessionResponse } from "../../wire/session-record";
import { call, unique } from "./http";
import { systemTitle } from "./meters";

/**
 * A meter written for the tests straight from docs/protocol.md, independent of the SDK:
 * it enrolls itself (with a manufacturer KEK it knows), runs EDHOC and talks in its session
 * through the worker's real fetch handler.
 */
export class TestMeter {
  connectionId?: Uint8Array;
  keys?: SessionKeys;
  counter = 0;
  lastRecord?: Uint8Array;
  /** How requests reach the edge: straight, or through a relaying gateway. */
  transport: (path: string, method: string, body?: Uint8Array, contentType?: string) => Promise<Response> = post;

  private constructor(
    readonly id: string,
    readonly systemTitle: string,
    readonly region: string,
    readonly identity: { privateKey: Uint8Array; publicKey: Uint8Array },
    readonly kek: Uint8Array,
    /** P-256 meters speak EDHOC suite 2; P-384 ones (DLMS suite 2) suite 24. */
    readonly curve: "P-256" | "P-384" = "P-256",
  ) {}

  get suite(): number {
    return this.curve === "P-384" ? 24 : 2;
  }

  static async enrollGateway(region = "north-1"): Promise<TestMeter> {
    const identity = await generateP256KeyPair();
    const gateway = new TestMeter(unique("GW"), systemTitle(), region, identity, new Uint8Array(16));
    const res = await call("POST", "/v1/admin/gateways", { json: { id: gateway.id, systemTitle: gateway.systemTitle, region, identityPublicKey: toHex(identity.publicKey) } });
    if (res.status !== 201) throw new Error(`gateway enrollment failed: ${JSON.stringify(res.body)}`);
    return gateway;
  }

  static async enroll(region = "north-1", overrides: Record<string, unknown> = {}, curve: "P-256" | "P-384" = "P-256"): Promise<TestMeter> {
    const identity = curve === "P-384" ? await generateP384KeyPair() : await generateP256KeyPair();
    const kek = crypto.getRandomValues(new Uint8Array(curve === "P-384" ? 32 : 16));
    const tk = crypto.getRandomValues(new Uint8Array(16));
    const transport = await call("POST", "/v1/admin/transport-keys", { json: { name: unique("mfr"), purpose: "manufacturer", key: toHex(tk) } });
    const meter = new TestMeter(unique("MTR"), systemTitle(), region, identity, kek, curve);
    const res = await call("POST", "/v1/admin/meters", {
      json: {
        id: meter.id,
        systemTitle: meter.systemTitle,
        region,
        suite: curve === "P-384" ? 2 : 1,
        identityPublicKey: toHex(identity.publicKey),
        manufacturerKeys: { transportKeyId: transport.body.id, kek: toHex(await wrap(tk, kek)) },
        ...overrides,
      },
    });
    if (res.status !== 201) throw new Error(`enrollment failed: ${JSON.stringify(res.body)}`);
    return meter;
  }

  get credential(): EdhocCredential {
    const pub = this.identity.publicKey;
    const size = (pub.length - 1) / 2;
    return makeCcs({ subject: this.id, kid: fromHex(this.systemTitle), curve: this.curve, x: pub.slice(1, 1 + size), y: pub.slice(1 + size) });
  }

  /** The concentrator credential, checked against the trust anchor as a meter would. */
  async concentratorCredential(region = this.region): Promise<EdhocCredential> {
    const anchor = (await call("GET", "/v1/edge/trust-anchor", { token: null })).body;
    const res = await post(`/v1/edge/credential?region=${region}&curve=${this.curve}`, "GET");
    const cwt = decodeCwt(new Uint8Array(await res.arrayBuffer()));
    if (toHex(cwt.signerKid) !== anchor.kid) throw new Error("CWT signed by another key");
    if (!(await verify("P-256", fromHex(anchor.publicKey), sigStructure(cwt.protectedHeader, cwt.payload), cwt.signature))) throw new Error("bad CWT signature");
    return parseCcs(cwt.payload);
  }

  initiator(suites: number[] = [this.suite], peerSuites?: number[], region = this.region): EdhocInitiator {
    const credential = { credential: this.credential, privateKey: this.identity.privateKey };
    const responder = this.concentratorCredential(region);
    return new EdhocInitiator({
      provider: webCryptoProvider,
      method: 3,
      suites,
      ...(peerSuites ? { peerSuites } : {}),
      credential,
      resolveCredential: async (kid) => {
        const c = await responder;
        return toHex(c.kid) === toHex(kid) ? c : undefined;
      },
    });
  }

  /** message_1 → message_2; returns the raw reply and, on success, the initiator ready for message_3. */
  async start(region = this.region, initiator = this.initiator([this.suite], undefined, region)) {
    const res = await this.transport(`/.well-known/edhoc?region=${region}`, "POST", message1Request(await initiator.message1()), "application/cid-edhoc+cbor-seq");
    const body = new Uint8Array(await res.arrayBuffer());
    return { res, body, initiator };
  }

  /** A full handshake with `first` riding on message_3. */
  async connect(first: { op: string; args?: CborMap } = { op: "ping" }, region = this.region): Promise<{ status: number; response?: SessionResponse; error?: string; raw: Uint8Array }> {
    const { res, body, initiator } = await this.start(region);
    if (res.status !== 200) return { status: res.status, error: res.headers.get("gridkey-error") ?? undefined, raw: body };
    const m2 = await initiator.processMessage2(body);
    const m3 = await initiator.message3();
    this.connectionId = m2.connectionIdResponder;
    this.keys = await deriveSessionKeys(initiator.session, this.suite === 24 ? 32 : 16);
    this.counter = 1;
    const record = await sealRequest(webCryptoSessionAead, this.keys, this.connectionId, 1, { op: first.op, args: first.args ?? new CborMap() });
    const withoutId = record.subarray(encodedIdLength(this.connectionId));
    const reply = await this.transport(`/.well-known/edhoc?region=${region}`, "POST", continueRequest(this.connectionId, concatBytes(m3, withoutId)), "application/cid-edhoc+cbor-seq");
    return this.readReply(reply, 1);
  }

  /** The next request of the session (or a chosen counter, to test replays). */
  async request(op: string, args = new CborMap(), counter = this.counter + 1) {
    this.counter = Math.max(this.counter, counter);
    const record = await sealRequest(webCryptoSessionAead, this.keys!, this.connectionId!, counter, { op, args });
    this.lastRecord = record;
    return this.send(record, counter);
  }

  async send(record: Uint8Array, counter: number) {
    const reply = await this.transport(`/v1/edge/session?region=${this.region}`, "POST", record, "application/gridkey-session+cbor-seq");
    return this.readReply(reply, counter);
  }

  private async readReply(reply: Response, counter: number) {
    const raw = new Uint8Array(await reply.arrayBuffer());
    if (reply.status !== 200) return { status: reply.status, error: reply.headers.get("gridkey-error") ?? undefined, raw };
    return { status: 200, response: await openResponse(webCryptoSessionAead, this.keys!, this.connectionId!, counter, raw), raw };
  }

  /** Asks for its keys and unwraps them with its KEK, as a DLMS meter would. */
  async fetchKeys(): Promise<Record<string, { key: Uint8Array; keyId: string; version: number; state: string }>> {
    const reply = await this.request("keys");
    if (!reply.response?.ok) throw new Error(`keys refused: ${JSON.stringify(reply)}`);
    const entries = decodeKeyData(reply.response.result.get("keyData") as Uint8Array);
    const listed = reply.response.result.get("keys") as [string, number, string, number, string][];
    const out: Record<string, { key: Uint8Array; keyId: string; version: number; state: string }> = {};
    for (const [i, [cls, , keyId, version, state]] of listed.entries()) out[cls] = { key: await unwrap(this.kek, entries[i]!.wrapped), keyId, version, state };
    return out;
  }

  async reading(ek: Uint8Array, ak: Uint8Array, invocationCounter: number, plaintext = fromHex("0f00000001020309060100010800ff06000f4240")) {
    const securityControl = this.curve === "P-384" ? 0x32 : 0x31;
    return sealGloCiphering({ systemTitle: fromHex(this.systemTitle), securityControl, invocationCounter }, { ek, ak }, plaintext);
  }
}

function encodedIdLength(id: Uint8Array): number {
  return id.length === 1 && (id[0]! <= 0x17 || (id[0]! >= 0x20 && id[0]! <= 0x37)) ? 1 : 1 + id.length;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export async function post(path: string, method: string, body?: Uint8Array, contentType?: string): Promise<Response> {
  return exports.default.fetch(`http://gridkey.test${path}`, { method, body, headers: contentType ? { "content-type": contentType } : {} });
}

