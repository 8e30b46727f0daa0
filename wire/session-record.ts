import { CborMap, CborReader, encode, encodeSequence, type CborValue } from "../edhoc/cbor";
import { decodeIdentifier, encodeIdentifier } from "../edhoc/credentials";
import { concatBytes, WireError } from "./axdr";

/**
 * gridkey's session layer on top of EDHOC (docs/protocol.md §4). After EDHOC, both ends
 * derive four values with EDHOC_Exporter(label, h'', length):
 *
 *   32768 K_i2r (meter → concentrator key)   32770 IV_i2r (12 bytes)
 *   32769 K_r2i (concentrator → meter key)   32771 IV_r2i (12 bytes)
 *
 * Every request is the CBOR sequence  C_R, counter, ciphertext  and every response is
 * counter, ciphertext:  AES-GCM (16-byte tag; AES-128 for EDHOC suite 2, AES-256 for 24)
 * with nonce = IV_dir XOR counter (left-padded to 12 bytes) and AAD = the CBOR array
 * ["gridkey/req" or "gridkey/res", C_R, counter]. Counters start at 1 and strictly increase;
 * the response reuses its request's counter under the other direction's key and IV.
 * Request plaintext: [op, args]; response plaintext: [0, result] or [1, code, message].
 */
export const EXPORTER_LABELS = { keyI2R: 32768, keyR2I: 32769, ivI2R: 32770, ivR2I: 32771 } as const;
export const SESSION_IV_LENGTH = 12;
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

export type SessionKeys = { keyI2R: Uint8Array; keyR2I: Uint8Array; ivI2R: Uint8Array; ivR2I: Uint8Array };

/** AES-GCM with 12-byte nonce and 16-byte tag, from whichever library the end has. */
export type SessionAead = {
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Throws when the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
};

/** The exporter a finished EDHOC session offers. */
export type Exporter = { exporter(label: number, context: Uint8Array, length: number): Promise<Uint8Array> };

export async function deriveSessionKeys(session: Exporter, keyLength: number): Promise<SessionKeys> {
  const none = new Uint8Array(0);
  return {
    keyI2R: await session.exporter(EXPORTER_LABELS.keyI2R, none, keyLength),
    keyR2I: await session.exporter(EXPORTER_LABELS.keyR2I, none, keyLength),
    ivI2R: await session.exporter(EXPORTER_LABELS.ivI2R, none, SESSION_IV_LENGTH),
    ivR2I: await session.exporter(EXPORTER_LABELS.ivR2I, none, SESSION_IV_LENGTH),
  };
}

export type Direction = "req" | "res";

export function sessionNonce(iv: Uint8Array, counter: number): Uint8Array {
  checkCounter(counter);
  const nonce = iv.slice();
  let c = BigInt(counter);
  for (let i = nonce.length - 1; i >= 0 && c > 0n; i--) {
    nonce[i]! ^= Number(c & 0xffn);
    c >>= 8n;
  }
  return nonce;
}

export function sessionAad(direction: Direction, connectionId: Uint8Array, counter: number): Uint8Array {
  return encode([`gridkey/${direction}`, connectionId, counter]);
}

export function checkCounter(counter: number): void {
  if (!Number.isSafeInteger(counter) || counter < 1) throw new WireError("bad_frame", "a session counter is an integer from 1 up");
}

export type RequestRecord = { connectionId: Uint8Array; counter: number; ciphertext: Uint8Array };

export function encodeRequestRecord(r: RequestRecord): Uint8Array {
  return concatBytes(encodeIdentifier(r.connectionId), encodeSequence(r.counter, r.ciphertext));
}

/** Reads a request record; with `connectionId` given, the record follows message_3 and has none of its own. */
export function decodeRequestRecord(bytes: Uint8Array, connectionId?: Uint8Array): RequestRecord {
  const reader = new CborReader(bytes);
  try {
    let id = connectionId;
    if (!id) {
      const first = reader.nextWithRaw();
      id = decodeIdentifier(first.value, first.raw, "C_R");
    }
    const counter = reader.next();
    const ciphertext = reader.next();
    if (!reader.atEnd || typeof counter !== "number" || !(ciphertext instanceof Uint8Array)) throw new Error("shape");
    checkCounter(counter);
    return { connectionId: id, counter, ciphertext };
  } catch (e) {
    if (e instanceof WireError) throw e;
    throw new WireError("bad_frame", "a session request is the CBOR sequence C_R, counter, ciphertext");
  }
}

export type ResponseRecord = { counter: number; ciphertext: Uint8Array };

export function encodeResponseRecord(r: ResponseRecord): Uint8Array {
  return encodeSequence(r.counter, r.ciphertext);
}

export function decodeResponseRecord(bytes: Uint8Array): ResponseRecord {
  const reader = new CborReader(bytes);
  try {
    const counter = reader.next();
    const ciphertext = reader.next();
    if (!reader.atEnd || typeof counter !== "number" || !(ciphertext instanceof Uint8Array)) throw new Error("shape");
    checkCounter(counter);
    return { counter, ciphertext };
  } catch (e) {
    if (e instanceof WireError) throw e;
    throw new WireError("bad_frame", "a session response is the CBOR sequence counter, ciphertext");
  }
}

export type SessionRequest = { op: string; args: CborMap };
export type SessionResponse = { ok: true; result: CborMap } | { ok: false; code: string; message: string };

export async function sealRequest(aead: SessionAead, keys: SessionKeys, connectionId: Uint8Array, counter: number, request: SessionRequest): Promise<Uint8Array> {
  const plaintext = encode([request.op, request.args]);
  const ciphertext = await aead.seal(keys.keyI2R, sessionNonce(keys.ivI2R, counter), plaintext, sessionAad("req", connectionId, counter));
  return encodeRequestRecord({ connectionId, counter, ciphertext });
}

export async function openRequest(aead: SessionAead, keys: SessionKeys, record: RequestRecord): Promise<SessionRequest> {
  const plaintext = await aead.open(keys.keyI2R, sessionNonce(keys.ivI2R, record.counter), record.ciphertext, sessionAad("req", record.connectionId, record.counter));
  const value = decodeOne(plaintext);
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== "string" || !(value[1] instanceof CborMap)) {
    throw new WireError("bad_frame", "a session request's plaintext is [op, args]");
  }
  return { op: value[0], args: value[1] };
}

export async function sealResponse(aead: SessionAead, keys: SessionKeys, connectionId: Uint8Array, counter: number, response: SessionResponse): Promise<Uint8Array> {
  const body: CborValue = response.ok ? [0, response.result] : [1, response.code, response.message];
  const ciphertext = await aead.seal(keys.keyR2I, sessionNonce(keys.ivR2I, counter), encode(body), sessionAad("res", connectionId, counter));
  return encodeResponseRecord({ counter, ciphertext });
}

export async function openResponse(aead: SessionAead, keys: SessionKeys, connectionId: Uint8Array, expectedCounter: number, bytes: Uint8Array): Promise<SessionResponse> {
  const record = decodeResponseRecord(bytes);
  if (record.counter !== expectedCounter) throw new WireError("bad_frame", "the response answers another request");
  const plaintext = await aead.open(keys.keyR2I, sessionNonce(keys.ivR2I, record.counter), record.ciphertext, sessionAad("res", connectionId, record.counter));
  const value = decodeOne(plaintext);
  if (Array.isArray(value) && value[0] === 0 && value[1] instanceof CborMap && value.length === 2) return { ok: true, result: value[1] };
  if (Array.isArray(value) && value[0] === 1 && typeof value[1] === "string" && typeof value[2] === "string" && value.length === 3) {
    return { ok: false, code: value[1], message: value[2] };
  }
  throw new WireError("bad_frame", "a session response's plaintext is [0, result] or [1, code, message]");
}

function decodeOne(bytes: Uint8Array): CborValue {
  const reader = new CborReader(bytes);
  try {
    const v = reader.next();
    if (!reader.atEnd) throw new Error("trailing");
    return v;
  } catch {
    throw new WireError("bad_frame", "not one CBOR data item");
  }
}
