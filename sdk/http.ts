/**
 * The SDK's only I/O: `fetch` against gridkey's edge. Injectable, so tests can pass a
 * worker's own fetch (`exports.default.fetch`) and gateways their own HTTP stack. Every
 * server error becomes an SdkError: JSON `{"error": {"code", "message"}}` keeps the server's
 * code; an EDHOC error message (application/edhoc+cbor-seq) takes the code of the
 * `gridkey-error` header, or an `edhoc_*` code from its ERR_CODE.
 */
import { decodeErrorMessage } from "../edhoc/messages.js";
import { EDHOC_RESPONSE_MEDIA_TYPE } from "../edhoc/transport.js";
import { EdhocError } from "../edhoc/errors.js";
import { SdkError } from "./errors.js";

/** The part of `fetch` the SDK uses; the global fetch and a workerd Fetcher both fit. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export const SESSION_MEDIA_TYPE = "application/gridkey-session+cbor-seq";
export const CWT_MEDIA_TYPE = "application/cwt";

export const EDGE_PATHS = {
  trustAnchor: "/v1/edge/trust-anchor",
  credential: "/v1/edge/credential",
  edhoc: "/.well-known/edhoc",
  session: "/v1/edge/session",
} as const;

/** Longest server text we keep in an error message (it is for people, not programs). */
const MAX_TEXT = 200;

/** Calls the global fetch unbound from any object: browsers and workerd refuse `this` ≠ globalThis. */
const globalFetch: FetchLike = (input, init) => fetch(input, init);

export class EdgeHttp {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly region: string,
    private readonly fetchFn: FetchLike = globalFetch,
  ) {
    this.base = checkBaseUrl(baseUrl);
  }

  url(path: string, query: Record<string, string> = {}): string {
    const params = new URLSearchParams({ region: this.region, ...query });
    return `${this.base}${path}?${params.toString()}`;
  }

  /** POSTs `body`; resolves to the response bytes when the status is 2xx with `accept`'s type. */
  post(path: string, contentType: string, body: Uint8Array, accept: string): Promise<Uint8Array> {
    // A copy over a plain ArrayBuffer: what every runtime's BodyInit accepts.
    return this.exchange(path, { method: "POST", headers: { "content-type": contentType, accept }, body: new Uint8Array(body) }, accept);
  }

  get(path: string, accept: string, query: Record<string, string> = {}): Promise<Uint8Array> {
    return this.exchange(path, { method: "GET", headers: { accept } }, accept, query);
  }

  private async exchange(path: string, init: RequestInit, accept: string, query: Record<string, string> = {}): Promise<Uint8Array> {
    const response = await this.send(path, this.url(path, query), init);
    if (!response.ok) throw await errorOf(response);
    if (mediaType(response) !== accept) {
      throw new SdkError("bad_response", `expected ${accept} from ${path}, got ${mediaType(response) || "no content type"}`, { status: response.status });
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  private async send(path: string, url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchFn(url, init);
    } catch (cause) {
      throw new SdkError("network_error", `request to ${path} failed`, { cause });
    }
  }
}

/** An http(s) URL without a trailing slash; anything else is `bad_config`. */
export function checkBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new SdkError("bad_config", "baseUrl is not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new SdkError("bad_config", "baseUrl must be http(s)");
  return baseUrl.replace(/\/+$/, "");
}

/** Fetches the trust anchor as the edge serves it. Trust on first use: see docs/sdk.md. */
export async function fetchTrustAnchor(baseUrl: string, fetchFn: FetchLike = globalFetch): Promise<{ kid: string; alg: string; publicKey: string }> {
  const url = `${checkBaseUrl(baseUrl)}${EDGE_PATHS.trustAnchor}`;
  let response: Response;
  try {
    response = await fetchFn(url, { headers: { accept: "application/json" } });
  } catch (cause) {
    throw new SdkError("network_error", "trust anchor request failed", { cause });
  }
  if (!response.ok) throw await errorOf(response);
  const body = (await response.json().catch(() => undefined)) as { kid?: unknown; alg?: unknown; publicKey?: unknown } | undefined;
  if (typeof body?.kid !== "string" || typeof body.alg !== "string" || typeof body.publicKey !== "string") {
    throw new SdkError("bad_response", "the trust anchor is {kid, alg, publicKey} in hex");
  }
  return { kid: body.kid, alg: body.alg, publicKey: body.publicKey };
}

function mediaType(response: Response): string {
  return (response.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

/** gridkey names every refusal in this header too; it is the code of an EDHOC error response. */
const ERROR_HEADER = "gridkey-error";
const CODE_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/** Turns an HTTP error response into an SdkError with the most specific code available. */
export async function errorOf(response: Response): Promise<SdkError> {
  const type = mediaType(response);
  const header = response.headers.get(ERROR_HEADER) ?? "";
  const named = CODE_PATTERN.test(header) ? header : undefined;
  if (type === EDHOC_RESPONSE_MEDIA_TYPE) return edhocErrorOf(new Uint8Array(await response.arrayBuffer()), response.status, named);
  if (type === "application/json") {
    const body = (await response.json().catch(() => undefined)) as { error?: { code?: unknown; message?: unknown } } | undefined;
    const code = body?.error?.code;
    if (typeof code === "string" && CODE_PATTERN.test(code)) {
      const message = typeof body?.error?.message === "string" ? body.error.message.slice(0, MAX_TEXT) : code;
      return new SdkError(code, message, { source: "http", status: response.status });
    }
  }
  return new SdkError(named ?? "http_error", `HTTP ${response.status}`, { source: "http", status: response.status });
}

/** An EDHOC error message from the server (RFC 9528 §6) as an SdkError. */
function edhocErrorOf(bytes: Uint8Array, status: number, named: string | undefined): SdkError {
  let peer: EdhocError;
  try {
    peer = decodeErrorMessage(bytes);
  } catch (cause) {
    return new SdkError(named ?? "bad_response", "the server's EDHOC error message is malformed", { source: "http", status, cause });
  }
  return fromPeerError(peer, status, named);
}

/**
 * Maps a received EDHOC error to an SdkError. The code is the server's own name for the
 * refusal when it gave one (e.g. meter_revoked, unknown_meter), else one derived from
 * ERR_CODE: 1 edhoc_rejected, 2 edhoc_no_common_suite, 3 edhoc_unknown_credential.
 * `edhoc.errCode` and `edhoc.suitesR` are always there for ERR_CODE-based handling.
 */
export function fromPeerError(peer: EdhocError, status?: number, named?: string): SdkError {
  const errCode = peer.peer?.errCode;
  const info = peer.peer?.errInfo;
  const diagnostic = typeof info === "string" ? info.slice(0, MAX_TEXT) : undefined;
  const derived = errCode === 2 ? "edhoc_no_common_suite" : errCode === 3 ? "edhoc_unknown_credential" : "edhoc_rejected";
  const edhoc = { ...(errCode === undefined ? {} : { errCode }), ...(diagnostic ? { diagnostic } : {}), ...(peer.suitesR ? { suitesR: peer.suitesR } : {}) };
  return new SdkError(named ?? derived, `server sent EDHOC error ${errCode ?? "?"}${diagnostic ? `: ${diagnostic}` : ""}`, {
    source: "edhoc",
    ...(status === undefined ? {} : { status }),
    edhoc,
  });
}
