/**
 * EDHOC (RFC 9528) for gridkey: the protocol code shared by the server (responder) and the
 * meter SDK (initiator). Pick a crypto provider separately: `./webcrypto-provider.js` on the
 * server (through functions/crypto), `./noble-provider.js` in the SDK. Neither is exported
 * here, so importing the protocol does not pull in the other one's dependencies.
 */
export { EdhocInitiator, type InitiatorOptions, type Message2Result } from "./initiator.js";
export { EdhocResponder, type ResponderOptions, type Message1Result, type Message3Result } from "./responder.js";
export { EdhocSession, type OscoreContext, type Role } from "./session.js";
export { EdhocError, type EdhocErrorCode, ERR_UNSPECIFIED, ERR_WRONG_SELECTED_SUITE, ERR_UNKNOWN_CREDENTIAL } from "./errors.js";
export { makeCcs, parseCcs, type EdhocCredential, type LocalCredential, type CredentialPublicKey } from "./credentials.js";
export type { CredentialResolver, CredentialSource, InjectedKey } from "./common.js";
export type { EdhocCryptoProvider, KeyPair } from "./crypto-provider.js";
export type { EadItem, EadPolicy } from "./ead.js";
export type { Method } from "./auth.js";
export type { TraceHook, TraceLabel } from "./key-schedule.js";
export { CIPHER_SUITES, DEFAULT_SUITES, getSuite, type CipherSuite } from "./suites.js";
export {
  EDHOC_REQUEST_MEDIA_TYPE,
  EDHOC_RESPONSE_MEDIA_TYPE,
  continueRequest,
  message1Request,
  parseRequest,
  type EdhocRequest,
} from "./transport.js";
