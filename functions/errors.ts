import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { CborError } from "../edhoc/cbor";
import { WireError } from "../wire/axdr";
import { CryptoInputError, CryptoVerifyError } from "./crypto";

/**
 * Every error a caller can see, by stable code. The HTTP status of each code is decided
 * here and nowhere else; handlers throw `GridkeyError(code, message)`.
 */
export const STATUS = {
  malformed_body: 400,
  validation_failed: 400,
  bad_hex: 400,
  bad_key_size: 400,
  bad_public_key: 400,
  bad_parameter: 400,
  bad_cursor: 400,
  unauthorized: 401,
  token_expired: 401,
  token_revoked: 401,
  forbidden: 403,
  not_found: 404,
  meter_not_found: 404,
  token_not_found: 404,
  key_not_found: 404,
  transport_key_not_found: 404,
  program_not_found: 404,
  not_a_member: 404,
  duplicate_meter: 409,
  duplicate_system_title: 409,
  duplicate_name: 409,
  invalid_state: 409,
  body_too_large: 413,
  // Meter sessions at the edge (docs/protocol.md §6).
  unknown_meter: 401,
  meter_suspended: 403,
  meter_revoked: 403,
  wrong_region: 403,
  edhoc_failed: 400,
  unsupported_suite: 400,
  unknown_exchange: 404,
  unknown_session: 401,
  session_expired: 401,
  replayed_message: 409,
  bad_frame: 400,
  bad_mac: 400,
  reading_rejected: 400,
  reading_replayed: 409,
  gateway_forbidden: 403,
  rate_limited: 429,
  unsupported_media_type: 415,
  bulk_invalid: 422,
  key_unwrap_failed: 422,
  master_key_unavailable: 503,
  storage_unavailable: 503,
  change_incomplete: 503,
  internal: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof STATUS;

export class GridkeyError extends Error {
  override readonly name = "GridkeyError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra machine-readable detail (never key material), e.g. a bulk report. */
    readonly details?: unknown,
  ) {
    super(message);
  }

  get status(): ContentfulStatusCode {
    return STATUS[this.code];
  }
}

export type ErrorBody = { error: { code: ErrorCode; message: string; details?: unknown } };

export function errorBody(err: GridkeyError): ErrorBody {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  if (err.details !== undefined) body.error.details = err.details;
  return body;
}

/** SQLite constraint failures that mean a caller's mistake, not a fault of ours. */
const CONSTRAINTS: Array<[RegExp, ErrorCode, string]> = [
  [/UNIQUE constraint failed: meters\.id/, "duplicate_meter", "a meter with this id is already enrolled"],
  [/UNIQUE constraint failed: meters\.system_title/, "duplicate_system_title", "a meter with this system title is already enrolled"],
  [/UNIQUE constraint failed: (transport_keys|operator_tokens)\.name/, "duplicate_name", "that name is taken"],
];

/**
 * The one translation from anything thrown into a `GridkeyError`. Unknown errors become
 * `internal` with a generic message, so no stack, SQL or key material reaches a caller.
 */
export function toGridkeyError(err: unknown): GridkeyError {
  if (err instanceof GridkeyError) return err;
  if (err instanceof CryptoInputError) return new GridkeyError(cryptoCode(err.code), err.message);
  if (err instanceof CryptoVerifyError) return new GridkeyError("key_unwrap_failed", "integrity check failed");
  if (err instanceof WireError) return new GridkeyError("bad_frame", err.message);
  // Bytes from outside that are not well-formed CBOR (e.g. what follows C_R at the EDHOC
  // endpoint): the sender's fault, never an internal error (found by test/fuzz/edge.test.ts).
  if (err instanceof CborError) return new GridkeyError("bad_frame", `malformed CBOR: ${err.message}`);
  if (err instanceof HTTPException && err.status === 400) {
    return new GridkeyError("malformed_body", "request body is not valid JSON");
  }
  const message = err instanceof Error ? err.message : String(err);
  for (const [pattern, code, text] of CONSTRAINTS) {
    if (pattern.test(message)) return new GridkeyError(code, text);
  }
  return new GridkeyError("internal", "internal error");
}

function cryptoCode(code: string): ErrorCode {
  return code in STATUS ? (code as ErrorCode) : "bad_parameter";
}
