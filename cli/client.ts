import { CliError, EXIT } from "./exit-codes";

export type ApiErrorBody = { error: { code: string; message: string; details?: unknown } };

type Body = { json: unknown } | { text: string; contentType: string };

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * The admin API over HTTP. Every failure becomes a CliError carrying the API's own error code
 * and message, and the exit code its class maps to (exit-codes.ts).
 */
export class Client {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T> {
    return this.request<T>("GET", withQuery(path, query));
  }
  post<T>(path: string, json?: unknown): Promise<T> {
    return this.request<T>("POST", path, json === undefined ? undefined : { json });
  }
  put<T>(path: string, json: unknown): Promise<T> {
    return this.request<T>("PUT", path, { json });
  }
  delete<T>(path: string): Promise<T> {
    return this.request<T>("DELETE", path);
  }
  /** A text body (NDJSON, CSV); bulk calls take longer than the default timeout allows. */
  postText<T>(path: string, text: string, contentType: string, timeoutMs = 600_000): Promise<T> {
    return this.request<T>("POST", path, { text, contentType }, timeoutMs);
  }

  async request<T>(method: string, path: string, body?: Body, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: "application/json" };
    let payload: string | undefined;
    if (body && "json" in body) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body.json);
    } else if (body) {
      headers["content-type"] = body.contentType;
      payload = body.text;
    }
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/v1/admin${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw unreachable(this.baseUrl, err);
    }
    const text = await res.text().catch(() => "");
    if (res.ok) return parseJson(text, res.status) as T;
    throw apiError(res.status, text);
  }
}

function withQuery(path: string, query?: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

function parseJson(text: string, status: number): unknown {
  try {
    return text === "" ? {} : JSON.parse(text);
  } catch {
    throw new CliError("bad_response", `gridkey answered ${status} with a body that is not JSON`, EXIT.unavailable);
  }
}

function unreachable(baseUrl: string, err: unknown): CliError {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError") return new CliError("timeout", `no answer from ${baseUrl} in time`, EXIT.unavailable);
  const cause = e.cause?.code ?? e.cause?.message ?? e.message;
  return new CliError("unreachable", `cannot connect to ${baseUrl} (${cause}); is gridkey running (npm start) and --url right?`, EXIT.unavailable);
}

/** 401 and 5xx mean "no working gridkey for this token"; any other refusal is the API's answer. */
export function apiError(status: number, text: string): CliError {
  let body: Partial<ApiErrorBody> = {};
  try {
    body = JSON.parse(text) as ApiErrorBody;
  } catch {
    // not a gridkey error body (a proxy's page, say): reported by status below
  }
  const code = body.error?.code ?? `http_${status}`;
  const message = body.error?.message ?? `HTTP ${status}`;
  const exit = status === 401 || status >= 500 ? EXIT.unavailable : EXIT.refused;
  return new CliError(code, message, exit, body.error?.details);
}
