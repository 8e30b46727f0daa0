import { env, exports } from "cloudflare:workers";

export type Reply<T = any> = { status: number; body: T; headers: Headers };

/** Calls the deployed fetch handler the way an operator's client would. */
export async function call<T = any>(
  method: string,
  path: string,
  opts: { token?: string | null; json?: unknown; body?: string; contentType?: string } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? env.BOOTSTRAP_TOKEN : opts.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers["content-type"] = "application/json";
  } else if (opts.body !== undefined) {
    body = opts.body;
  }
  if (opts.contentType) headers["content-type"] = opts.contentType;
  const res = await exports.default.fetch(`http://gridkey.test${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: tests that care assert on the text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export function unique(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

export async function tokenFor(role: "admin" | "operator" | "auditor" | "headend", extra: Record<string, unknown> = {}): Promise<string> {
  const res = await call("POST", "/v1/admin/tokens", { json: { name: unique(role), role, ...extra } });
  if (res.status !== 201) throw new Error(`token creation failed: ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}
