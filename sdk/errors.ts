/**
 * The SDK's one error type. `code` is stable and meant for programs; `message` is for people.
 * Codes the SDK raises itself are listed in SdkLocalCode; codes the server sends (HTTP JSON
 * errors such as `meter_revoked`, or an op's own error code) pass through unchanged, so a
 * caller can switch on what the server said without the SDK knowing every code in advance.
 * No error ever carries key material or message bytes.
 */
export type SdkLocalCode =
  | "bad_config" // constructor options: wrong lengths, unknown suite, bad trust anchor
  | "bad_parameter" // a call's argument is unusable (security control byte, keys to acknowledge)
  | "network_error" // fetch itself failed (no HTTP response)
  | "http_error" // an HTTP error without a JSON or EDHOC error body
  | "bad_response" // the server answered with something the protocol does not allow
  | "credential_invalid" // the concentrator credential (CWT or its CCS) is malformed
  | "credential_untrusted" // the CWT is not signed by the trust anchor
  | "edhoc_failed" // our EDHOC processing refused message_2 (see `edhoc.code`)
  | "edhoc_rejected" // the server sent EDHOC error ERR_CODE 1 (see `edhoc.diagnostic`)
  | "edhoc_unknown_credential" // the server sent ERR_CODE 3: it does not know this meter's kid
  | "edhoc_no_common_suite" // ERR_CODE 2 and no suite in SUITES_R that this meter can use
  | "decryption_failed" // a session response or DLMS APDU did not authenticate
  | "bad_apdu" // a DLMS APDU's framing is malformed
  | "key_unwrap_failed" // a delivered key failed its RFC 3394 integrity check under our KEK(s)
  | "rekey_invalid" // a rekey bundle view or snapshot is malformed, or its entries fail their proofs
  | "rekey_untrusted" // a rekey bundle header or snapshot is not signed by the trust anchor
  | "rekey_out_of_order" // a view for an epoch that does not follow the one this meter holds
  | "rekey_incomplete" // after a view, this meter lacks its path's current keys (ask for a snapshot)
  | "replayed_command" // a DR command whose invocation counter was already seen
  | "command_untrusted" // a DR command not signed by the trust anchor, or signed for another program
  | "no_keys" // uploadReading before a GUEK and AK were fetched (and installed)
  | "no_kek" // fetchKeys on a client configured without a KEK (a gateway)
  | "counter_exhausted"; // the DLMS invocation counter of the current GUEK reached 2^32-1

/** Server codes are open-ended: `(string & {})` keeps editor completion for the local ones. */
export type SdkErrorCode = SdkLocalCode | (string & {});

/** Where the error came from: the SDK, an HTTP error body, an EDHOC error, or an op's result. */
export type SdkErrorSource = "local" | "http" | "edhoc" | "op";

export type EdhocErrorInfo = {
  /** The EdhocError code of a local failure (e.g. mac_verification_failed). */
  code?: string;
  /** ERR_CODE of an error message the server sent. */
  errCode?: number;
  /** The server's ERR_INFO diagnostic text (fixed English; never message bytes). */
  diagnostic?: string;
  /** SUITES_R of an ERR_CODE 2 message. */
  suitesR?: number[];
};

export class SdkError extends Error {
  override readonly name = "SdkError";
  readonly code: SdkErrorCode;
  readonly source: SdkErrorSource;
  /** HTTP status when the server answered with an error. */
  readonly status: number | undefined;
  readonly edhoc: EdhocErrorInfo | undefined;

  constructor(
    code: SdkErrorCode,
    message: string,
    options: { source?: SdkErrorSource; status?: number; edhoc?: EdhocErrorInfo; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.source = options.source ?? "local";
    this.status = options.status;
    this.edhoc = options.edhoc;
  }
}

/** Server codes after which the session is gone and a new EDHOC handshake is the remedy. */
export const SESSION_GONE_CODES: ReadonlySet<string> = new Set(["unknown_session", "session_expired"]);

export function isSessionGone(e: unknown): boolean {
  return e instanceof SdkError && e.source === "http" && SESSION_GONE_CODES.has(e.code);
}
