/**
 * Encoding and strict decoding of the EDHOC message layouts (RFC 9528 §5, Appendix C.2):
 * message_1..4, PLAINTEXT_2/3, SUITES and the error message. Decoders check structure and
 * encoding only; cryptographic checks are done by the state machines.
 */
import { CborReader, concat, encode, type CborValue } from "./cbor.js";
import { decodeIdentifier, encodeIdCredCompact, encodeIdentifier, readIdCred } from "./credentials.js";
import { encodeEad, readEad, type EadItem, type EadPolicy } from "./ead.js";
import { EdhocError, encodeSuites, fromCbor } from "./errors.js";

/** Runs a decoding step, turning CBOR errors into EdhocErrors with the same code. */
function step<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw fromCbor(e, what);
  }
}

function nextItem(reader: CborReader, what: string): { value: CborValue; raw: Uint8Array } {
  if (reader.atEnd) throw new EdhocError("wrong_element_count", `${what} is missing`);
  return step(what, () => reader.nextWithRaw());
}

function expectInt(value: CborValue, what: string): number {
  if (typeof value !== "number") throw new EdhocError("unexpected_type", `${what} must be an int`);
  return value;
}

function expectBytes(value: CborValue, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new EdhocError("unexpected_type", `${what} must be a byte string`);
  return value;
}

/** True when the next item is an int: an error message, where a message_2/3/4 would be a bstr. */
export function isErrorMessage(bytes: Uint8Array): boolean {
  const major = bytes.length > 0 ? bytes[0]! >> 5 : undefined;
  return major === 0 || major === 1;
}

// ---------------------------------------------------------------------------------------
// SUITES
// ---------------------------------------------------------------------------------------

/** suites = [ 2* int ] / int  (a single suite MUST be an int, §5.2.2). */
export function decodeSuites(value: CborValue, what: string): number[] {
  if (typeof value === "number") return [value];
  if (!Array.isArray(value)) throw new EdhocError("invalid_suites", `${what} must be an int or an array of ints`);
  if (value.length < 2) throw new EdhocError("invalid_suites", `${what} with fewer than two suites must be an int`);
  return value.map((s) => {
    if (typeof s !== "number") throw new EdhocError("invalid_suites", `${what} elements must be ints`);
    return s;
  });
}

// ---------------------------------------------------------------------------------------
// message_1
// ---------------------------------------------------------------------------------------

export interface Message1 {
  readonly method: number;
  readonly suitesI: number[];
  readonly gX: Uint8Array;
  readonly connectionIdInitiator: Uint8Array;
  readonly ead1: EadItem[];
}

export function encodeMessage1(m: Omit<Message1, "ead1"> & { ead1?: readonly EadItem[] }): Uint8Array {
  return concat(encode(m.method), encode(encodeSuites(m.suitesI)), encode(m.gX), encodeIdentifier(m.connectionIdInitiator), encodeEad(m.ead1));
}

/** message_1 = ( METHOD : int, SUITES_I : suites, G_X : bstr, C_I : bstr / -24..23, ? EAD_1 ) */
export function decodeMessage1(bytes: Uint8Array, policy: EadPolicy | undefined): Message1 {
  const r = new CborReader(bytes);
  const method = expectInt(nextItem(r, "METHOD").value, "METHOD");
  const suitesI = decodeSuites(nextItem(r, "SUITES_I").value, "SUITES_I");
  const gX = expectBytes(nextItem(r, "G_X").value, "G_X");
  const cI = nextItem(r, "C_I");
  const connectionIdInitiator = decodeIdentifier(cI.value, cI.raw, "C_I");
  const ead1 = readEad(r, policy, "EAD_1");
  return { method, suitesI, gX, connectionIdInitiator, ead1 };
}

// ---------------------------------------------------------------------------------------
// message_2 / message_3 / message_4: one byte string each
// ---------------------------------------------------------------------------------------

/** message_2 = ( G_Y_CIPHERTEXT_2 : bstr ), and message_3/4 = ( CIPHERTEXT_x : bstr ). */
export function decodeSingleBstr(bytes: Uint8Array, what: string): Uint8Array {
  const r = new CborReader(bytes);
  const value = expectBytes(nextItem(r, what).value, what);
  if (!r.atEnd) throw new EdhocError("wrong_element_count", `${what} must be a single byte string`);
  return value;
}

// ---------------------------------------------------------------------------------------
// PLAINTEXT_2 / PLAINTEXT_3
// ---------------------------------------------------------------------------------------

export interface Plaintext2 {
  readonly connectionIdResponder: Uint8Array;
  readonly kidR: Uint8Array;
  readonly signatureOrMac2: Uint8Array;
  readonly ead2: EadItem[];
  /** EAD_2 exactly as received (padding included): MAC_2 covers these bytes. */
  readonly ead2Raw: Uint8Array;
}

export function encodePlaintext2(cR: Uint8Array, kidR: Uint8Array, signatureOrMac: Uint8Array, ead2: Uint8Array): Uint8Array {
  return concat(encodeIdentifier(cR), encodeIdCredCompact(kidR), encode(signatureOrMac), ead2);
}

function readSignatureOrMac(r: CborReader, what: string, expectedLength: number): Uint8Array {
  const v = expectBytes(nextItem(r, what).value, what);
  if (v.length !== expectedLength) {
    throw new EdhocError("invalid_mac_length", `${what} is ${v.length} bytes, expected ${expectedLength}`);
  }
  return v;
}

/** PLAINTEXT_2 = ( C_R, ID_CRED_R : map / bstr / -24..23, Signature_or_MAC_2 : bstr, ? EAD_2 ) */
export function decodePlaintext2(bytes: Uint8Array, macLength: number, policy: EadPolicy | undefined): Plaintext2 {
  const r = new CborReader(bytes);
  const cR = nextItem(r, "C_R");
  const connectionIdResponder = decodeIdentifier(cR.value, cR.raw, "C_R");
  if (r.atEnd) throw new EdhocError("wrong_element_count", "ID_CRED_R is missing");
  const kidR = readIdCred(r, "ID_CRED_R");
  const signatureOrMac2 = readSignatureOrMac(r, "Signature_or_MAC_2", macLength);
  const ead2Raw = bytes.subarray(r.offset);
  const ead2 = readEad(r, policy, "EAD_2");
  return { connectionIdResponder, kidR, signatureOrMac2, ead2, ead2Raw };
}

export interface Plaintext3 {
  readonly kidI: Uint8Array;
  readonly signatureOrMac3: Uint8Array;
  readonly ead3: EadItem[];
  /** EAD_3 exactly as received (padding included): MAC_3 covers these bytes. */
  readonly ead3Raw: Uint8Array;
}

export function encodePlaintext3(kidI: Uint8Array, signatureOrMac: Uint8Array, ead3: Uint8Array): Uint8Array {
  return concat(encodeIdCredCompact(kidI), encode(signatureOrMac), ead3);
}

/** PLAINTEXT_3 = ( ID_CRED_I : map / bstr / -24..23, Signature_or_MAC_3 : bstr, ? EAD_3 ) */
export function decodePlaintext3(bytes: Uint8Array, macLength: number, policy: EadPolicy | undefined): Plaintext3 {
  const r = new CborReader(bytes);
  if (r.atEnd) throw new EdhocError("wrong_element_count", "ID_CRED_I is missing");
  const kidI = readIdCred(r, "ID_CRED_I");
  const signatureOrMac3 = readSignatureOrMac(r, "Signature_or_MAC_3", macLength);
  const ead3Raw = bytes.subarray(r.offset);
  const ead3 = readEad(r, policy, "EAD_3");
  return { kidI, signatureOrMac3, ead3, ead3Raw };
}

/** PLAINTEXT_4 = ( ? EAD_4 ) */
export function decodePlaintext4(bytes: Uint8Array, policy: EadPolicy | undefined): EadItem[] {
  return readEad(new CborReader(bytes), policy, "EAD_4");
}

// ---------------------------------------------------------------------------------------
// error
// ---------------------------------------------------------------------------------------

/**
 * Reads an error message (ERR_CODE : int, ERR_INFO : any) and returns it as the EdhocError
 * "peer_error" to throw; for ERR_CODE 2 the responder's SUITES_R is attached as suitesR.
 */
export function decodeErrorMessage(bytes: Uint8Array): EdhocError {
  const r = new CborReader(bytes);
  const errCode = expectInt(nextItem(r, "ERR_CODE").value, "ERR_CODE");
  const errInfo = nextItem(r, "ERR_INFO").value;
  if (!r.atEnd) throw new EdhocError("wrong_element_count", "error message has more than two elements");
  // A malformed SUITES_R still ends the session as a peer error: no error is sent in reply to an error.
  const suitesR = errCode === 2 ? tryDecodeSuites(errInfo) : undefined;
  const text = typeof errInfo === "string" ? `: ${errInfo}` : "";
  return new EdhocError("peer_error", `peer sent EDHOC error ${errCode}${text}`, {
    peer: { errCode, errInfo },
    ...(suitesR ? { suitesR } : {}),
  });
}

function tryDecodeSuites(value: CborValue): number[] | undefined {
  try {
    return decodeSuites(value, "SUITES_R");
  } catch {
    return undefined;
  }
}
