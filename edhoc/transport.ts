/**
 * EDHOC over a request/response transport, as RFC 9528 Appendix A.2 lays out for CoAP and
 * gridkey uses over HTTPS (DESIGN §4): a request carries the CBOR simple value `true` in
 * front of message_1, or C_R in front of message_3 (and of an initiator's error message),
 * so the responder can tell a new session from a continued one. Responses carry the bare
 * EDHOC message.
 */
import { CborReader } from "./cbor.js";
import { decodeIdentifier, encodeIdentifier } from "./credentials.js";
import { EdhocError, fromCbor } from "./errors.js";

/** Media type of requests (correlation item + EDHOC message), RFC 9528 §10.9.2. */
export const EDHOC_REQUEST_MEDIA_TYPE = "application/cid-edhoc+cbor-seq";
/** Media type of responses and of error messages, RFC 9528 §10.9.1. */
export const EDHOC_RESPONSE_MEDIA_TYPE = "application/edhoc+cbor-seq";

const CBOR_TRUE = 0xf5;

export type EdhocRequest =
  /** A new session: `message` is message_1. */
  | { readonly kind: "message_1"; readonly message: Uint8Array }
  /** A continued session: `message` is message_3 or an error message, for the session with C_R. */
  | { readonly kind: "continue"; readonly connectionIdResponder: Uint8Array; readonly message: Uint8Array };

/** Request body for message_1: true, message_1. */
export function message1Request(message1: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + message1.length);
  out[0] = CBOR_TRUE;
  out.set(message1, 1);
  return out;
}

/** Request body for message_3 (or an error message): C_R, message. */
export function continueRequest(connectionIdResponder: Uint8Array, message: Uint8Array): Uint8Array {
  const prefix = encodeIdentifier(connectionIdResponder);
  const out = new Uint8Array(prefix.length + message.length);
  out.set(prefix);
  out.set(message, prefix.length);
  return out;
}

/** Splits a request body into its correlation item and the EDHOC message. */
export function parseRequest(body: Uint8Array): EdhocRequest {
  if (body.length === 0) throw new EdhocError("wrong_element_count", "empty EDHOC request");
  if (body[0] === CBOR_TRUE) return { kind: "message_1", message: body.subarray(1) };
  const reader = new CborReader(body);
  let first;
  try {
    first = reader.nextWithRaw();
  } catch (e) {
    throw fromCbor(e, "C_R");
  }
  const connectionIdResponder = decodeIdentifier(first.value, first.raw, "C_R");
  if (reader.atEnd) throw new EdhocError("wrong_element_count", "EDHOC request has no message after C_R");
  return { kind: "continue", connectionIdResponder, message: body.subarray(reader.offset) };
}
