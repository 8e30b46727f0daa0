/**
 * One EDHOC handshake as the meter (initiator) runs it over HTTPS, with the session's first
 * request riding on message_3 (DESIGN §4):
 *
 *   POST /.well-known/edhoc   true, message_1                          → message_2
 *   POST /.well-known/edhoc   C_R, message_3, 1, ciphertext(request 1) → response record 1
 *
 * No message_4: the first response, sealed under keys only the authenticated concentrator
 * can have, confirms the keys. ERR_CODE 2 is answered once with a new initiator restricted
 * to the responder's SUITES_R (RFC 9528 §6.3).
 */
import type { CredentialResolver } from "../edhoc/common.js";
import type { LocalCredential } from "../edhoc/credentials.js";
import { encodeIdentifier } from "../edhoc/credentials.js";
import { EdhocError } from "../edhoc/errors.js";
import { EdhocInitiator } from "../edhoc/initiator.js";
import { nobleProvider } from "../edhoc/noble-provider.js";
import { getSuite } from "../edhoc/suites.js";
import { EDHOC_REQUEST_MEDIA_TYPE, EDHOC_RESPONSE_MEDIA_TYPE, continueRequest, message1Request } from "../edhoc/transport.js";
import { concatBytes, WireError } from "../wire/axdr.js";
import { deriveSessionKeys, openResponse, sealRequest, type SessionKeys, type SessionRequest, type SessionResponse } from "../wire/session-record.js";
import { SdkError } from "./errors.js";
import { EDGE_PATHS, fromPeerError, SESSION_MEDIA_TYPE, type EdgeHttp } from "./http.js";
import { nobleSessionAead } from "./noble-aead.js";

/** gridkey's profile: method 3 (static DH on both sides). */
const METHOD = 3;

export type Session = {
  /** C_R: names the session in every request. */
  readonly connectionId: Uint8Array;
  readonly keys: SessionKeys;
  /** The next request counter; consumed before sending so a nonce is never used twice. */
  nextCounter: number;
};

export type HandshakeConfig = {
  http: EdgeHttp;
  credential: LocalCredential;
  /** EDHOC suites, most preferred first. */
  suites: readonly number[];
  resolveCredential: CredentialResolver;
};

/**
 * Runs the handshake, retrying once when the server asks for other suites (ERR_CODE 2) or no
 * longer holds the exchange when message_3 arrives (unknown_exchange: it restarted or the
 * exchange expired; it consumed nothing, so the first request was not processed).
 */
export async function handshake(config: HandshakeConfig, first: SessionRequest): Promise<{ session: Session; response: SessionResponse }> {
  try {
    return await attempt(config, first, undefined);
  } catch (e) {
    if (!(e instanceof SdkError)) throw e;
    const suitesR = e.edhoc?.errCode === 2 ? e.edhoc.suitesR : undefined;
    if (suitesR) return attempt(config, first, suitesR);
    if (e.code === "unknown_exchange") return attempt(config, first, undefined);
    throw e;
  }
}

async function attempt(config: HandshakeConfig, first: SessionRequest, peerSuites: readonly number[] | undefined) {
  const initiator = newInitiator(config, peerSuites);
  const message1 = await edhoc(() => initiator.message1());
  const message2 = await config.http.post(EDGE_PATHS.edhoc, EDHOC_REQUEST_MEDIA_TYPE, message1Request(message1), EDHOC_RESPONSE_MEDIA_TYPE);
  const { connectionIdResponder: cR } = await edhoc(() => initiator.processMessage2(message2));
  const message3 = await edhoc(() => initiator.message3());
  const keys = await deriveSessionKeys(initiator.session, getSuite(initiator.selectedSuite)!.appAead.keyLength);
  try {
    const response = await sendMessage3(config, cR, message3, keys, first);
    return { session: { connectionId: cR, keys, nextCounter: 2 }, response };
  } catch (e) {
    for (const k of Object.values(keys)) k.fill(0); // no session: the keys have no further use
    throw e;
  }
}

/** message_3 with request 1 after it; the answer is response 1 under the new session keys. */
async function sendMessage3(config: HandshakeConfig, cR: Uint8Array, message3: Uint8Array, keys: SessionKeys, first: SessionRequest): Promise<SessionResponse> {
  const record = await sealRequest(nobleSessionAead, keys, cR, 1, first);
  const body = continueRequest(cR, concatBytes(message3, withoutConnectionId(record, cR)));
  const responseBytes = await config.http.post(EDGE_PATHS.edhoc, EDHOC_REQUEST_MEDIA_TYPE, body, SESSION_MEDIA_TYPE);
  return openSessionResponse(keys, cR, 1, responseBytes);
}

function newInitiator(config: HandshakeConfig, peerSuites: readonly number[] | undefined): EdhocInitiator {
  try {
    return new EdhocInitiator({
      provider: nobleProvider,
      method: METHOD,
      suites: config.suites,
      credential: config.credential,
      resolveCredential: config.resolveCredential,
      ...(peerSuites ? { peerSuites } : {}),
    });
  } catch (e) {
    if (peerSuites && e instanceof EdhocError) {
      throw new SdkError("edhoc_no_common_suite", "the server supports none of this meter's EDHOC cipher suites", { source: "edhoc", edhoc: { suitesR: [...peerSuites] } });
    }
    throw new SdkError("bad_config", `EDHOC initiator: ${e instanceof Error ? e.message : "refused"}`, { cause: e });
  }
}

/** Runs an initiator step; EDHOC failures become SdkErrors (SdkErrors from the resolver pass). */
async function edhoc<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (!(e instanceof EdhocError)) throw e;
    if (e.code === "peer_error") throw fromPeerError(e);
    throw new SdkError("edhoc_failed", `EDHOC: ${e.code}`, { source: "edhoc", edhoc: { code: e.code }, cause: e });
  }
}

/**
 * The request record after message_3 carries no C_R of its own (the request body's C_R names
 * both): `counter, ciphertext` is the full record minus its leading encoded C_R.
 */
export function withoutConnectionId(record: Uint8Array, connectionId: Uint8Array): Uint8Array {
  const prefix = encodeIdentifier(connectionId);
  if (!prefix.every((b, i) => record[i] === b)) throw new SdkError("bad_parameter", "record does not start with C_R");
  return record.subarray(prefix.length);
}

/** Opens a response record; framing faults are `bad_response`, a wrong tag `decryption_failed`. */
export async function openSessionResponse(keys: SessionKeys, connectionId: Uint8Array, counter: number, bytes: Uint8Array): Promise<SessionResponse> {
  try {
    return await openResponse(nobleSessionAead, keys, connectionId, counter, bytes);
  } catch (e) {
    if (e instanceof WireError) throw new SdkError("bad_response", `session response: ${e.message}`, { cause: e });
    throw e;
  }
}
