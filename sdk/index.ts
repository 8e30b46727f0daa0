/**
 * gridkey meter/gateway SDK: a meter's side of gridkey's sessions (EDHOC, RFC 9528, then
 * gridkey's session records), key delivery (DLMS global key transfer) and DLMS
 * general-glo-ciphering, in plain TypeScript on noble. No Node-only API: it runs in Node,
 * browsers and workerd; `fetch` is its only I/O. See docs/sdk.md.
 */
export { MeterClient, type MeterClientOptions, type FetchedKeys, type KeyVersionRef, type DlmsSuite, type InvocationCounterStore } from "./meter-client.js";
export { SdkError, isSessionGone, type SdkErrorCode, type SdkLocalCode, type SdkErrorSource, type EdhocErrorInfo } from "./errors.js";
export { CredentialCache, verifyCredentialCwt, trustAnchorOf, type TrustAnchor, type TrustAnchorInput } from "./credential-cache.js";
export { sealGloCiphering, openGloCiphering, openGloCipheringApdu, scAuthenticatedEncrypted, type DlmsKeys } from "./dlms.js";
export { unwrapKey, unwrapKeyData, KEY_CLASSES, type DeliveredKey, type KeyDescription, type KeyClass } from "./key-unwrap.js";
export { nobleSessionAead } from "./noble-aead.js";
export { GroupKeys, type RekeyUpdate } from "./group-keys.js";
export { fetchTrustAnchor, EDGE_PATHS, SESSION_MEDIA_TYPE, CWT_MEDIA_TYPE, type FetchLike } from "./http.js";
export type { GloCipheringHeader } from "../wire/glo-ciphering.js";
