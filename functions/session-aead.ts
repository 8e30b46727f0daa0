import type { SessionAead } from "../wire/session-record";
import { open, seal } from "./crypto";

/** The session layer's AES-GCM, through WebCrypto (the concentrator's hot path). */
export const webCryptoSessionAead: SessionAead = {
  seal: (key, nonce, plaintext, aad) => seal(key, nonce, plaintext, aad),
  open: (key, nonce, sealed, aad) => open(key, nonce, sealed, aad),
};
