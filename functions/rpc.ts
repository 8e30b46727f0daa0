import { type ErrorCode, GridkeyError } from "./errors";

/**
 * Durable Object RPC carries values, not classes: a GridkeyError thrown inside an object
 * would reach the caller as a bare Error. Objects return this instead, and callers unwrap it,
 * so a refusal keeps its code across the boundary.
 */
export type RpcResult<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

export async function rpcResult<T>(f: () => Promise<T>): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (err) {
    if (err instanceof GridkeyError) return { ok: false, code: err.code, message: err.message };
    throw err;
  }
}

export async function rpcValue<T>(result: Promise<RpcResult<T>>): Promise<T> {
  const r = await result;
  if (r.ok) return r.value;
  throw new GridkeyError(r.code, r.message);
}
