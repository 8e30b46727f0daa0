/**
 * Typed EDHOC errors with stable codes. A processing failure carries the EDHOC error
 * message (RFC 9528 §6) the failing endpoint should send back, so the transport layer only
 * has to forward `errorMessage` when it is present.
 */
import { CborError, type CborErrorCode, encodeSequence, type CborValue } from "./cbor.js";

export type EdhocErrorCode =
  | CborErrorCode // a message (or part of one) is not well-formed deterministic CBOR
  | "unexpected_type" // a message element has the wrong CBOR type
  | "wrong_element_count" // a message has too many or too few elements
  | "non_compact_identifier" // C_x or kid encoded as bstr where the int form is required (§3.3.2)
  | "non_compact_id_cred" // ID_CRED_x = {4: kid} sent as a map instead of compact (§3.5.3.2)
  | "invalid_suites" // SUITES_I malformed (e.g. a one-element array, §5.2.2)
  | "unsupported_method" // METHOD not offered by this endpoint
  | "wrong_selected_suite" // selected suite unsupported or a preferred one is supported (§6.3)
  | "invalid_key_length" // G_X / G_Y / static key of the wrong length for the curve
  | "invalid_public_key" // point not on the curve, x >= p, or an all-zero X25519 output (§9.2)
  | "invalid_mac_length" // Signature_or_MAC of the wrong length for method and suite
  | "mac_verification_failed" // MAC_2 / MAC_3 mismatch
  | "signature_verification_failed" // Signature_or_MAC_2/3 (methods 0-2) does not verify
  | "decryption_failed" // CIPHERTEXT_3 / CIPHERTEXT_4 does not authenticate
  | "unknown_credential" // the credential referenced by ID_CRED_x is not known (ERR_CODE 3)
  | "unsupported_credential" // ID_CRED_x of a type we do not support, or an unusable CRED_x
  | "invalid_credential" // CRED_x malformed (not a CCS with a COSE_Key for the suite's curve)
  | "critical_ead" // a critical EAD item this endpoint does not support (§3.8)
  | "invalid_ead" // EAD field not a sequence of (int, ? bstr)
  | "connection_id_collision" // C_R equals C_I (they become OSCORE Recipient IDs, §3.3.3)
  | "plaintext_too_long" // PLAINTEXT_2 longer than one EDHOC_KDF output (Appendix G unsupported)
  | "peer_error" // the peer sent an EDHOC error message
  | "invalid_state" // API used out of order (e.g. message_3 before message_2)
  | "bad_parameter"; // invalid local input (connection id, key, suite list)

/** ERR_CODE values on the wire (RFC 9528 §6). */
export const ERR_UNSPECIFIED = 1;
export const ERR_WRONG_SELECTED_SUITE = 2;
export const ERR_UNKNOWN_CREDENTIAL = 3;

/** Codes that describe our own misuse or the peer's error: no error message is sent back. */
const LOCAL_CODES: ReadonlySet<EdhocErrorCode> = new Set(["peer_error", "invalid_state", "bad_parameter"]);

/**
 * Fixed English diagnostics for ERR_INFO (§6.2): they never contain message bytes or key
 * material, only which check failed.
 */
function diagnostic(code: EdhocErrorCode): string {
  return `EDHOC processing failed: ${code}`;
}

export class EdhocError extends Error {
  override readonly name = "EdhocError";
  /** The EDHOC error message to send to the peer, or undefined when none must be sent. */
  readonly errorMessage: Uint8Array | undefined;
  /** ERR_CODE of `errorMessage` (or, for peer_error, of the message received). */
  readonly errCode: number | undefined;
  /** For peer_error: what the peer sent. */
  readonly peer: { errCode: number; errInfo: CborValue } | undefined;
  /** SUITES_R: ours for wrong_selected_suite, the peer's for a received ERR_CODE 2. */
  readonly suitesR: number[] | undefined;

  constructor(
    readonly code: EdhocErrorCode,
    message: string,
    options: {
      /** ERR_INFO for ERR_CODE 2: our supported suites. */
      suitesR?: number[];
      /** For peer_error: what the peer sent. */
      peer?: { errCode: number; errInfo: CborValue };
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.peer = options.peer;
    this.suitesR = options.suitesR;
    if (options.peer) {
      this.errCode = options.peer.errCode;
      this.errorMessage = undefined;
    } else if (LOCAL_CODES.has(code)) {
      this.errCode = undefined;
      this.errorMessage = undefined;
    } else {
      this.errCode = errCodeFor(code);
      this.errorMessage = encodeErrorMessage(this.errCode, errInfoFor(this.errCode, code, options.suitesR));
    }
  }
}

function errCodeFor(code: EdhocErrorCode): number {
  if (code === "wrong_selected_suite") return ERR_WRONG_SELECTED_SUITE;
  if (code === "unknown_credential") return ERR_UNKNOWN_CREDENTIAL;
  return ERR_UNSPECIFIED;
}

function errInfoFor(errCode: number, code: EdhocErrorCode, suitesR: number[] | undefined): CborValue {
  if (errCode === ERR_WRONG_SELECTED_SUITE) return encodeSuites(suitesR ?? []);
  if (errCode === ERR_UNKNOWN_CREDENTIAL) return true; // §6.4: ERR_INFO is `true`
  return diagnostic(code);
}

/** SUITES as in §5.2.2: a single suite is an int, several are an array. */
export function encodeSuites(suites: number[]): CborValue {
  return suites.length === 1 ? suites[0]! : suites;
}

/** error = (ERR_CODE : int, ERR_INFO : any) */
export function encodeErrorMessage(errCode: number, errInfo: CborValue): Uint8Array {
  return encodeSequence(errCode, errInfo);
}

/** Wraps a CborError into an EdhocError with the same code (so callers see one type). */
export function fromCbor(e: unknown, what: string): EdhocError {
  if (e instanceof EdhocError) return e;
  if (e instanceof CborError) return new EdhocError(e.code, `${what}: ${e.message}`, { cause: e });
  throw e;
}
