import { OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Role } from "../../schema";
import type { AppEnv } from "../app-env";
import { type ErrorCode, GridkeyError } from "../errors";

/** The error body every 4xx/5xx carries. */
export const ErrorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) })
  .openapi("Error");

const errorResponse = (description: string) => ({ content: { "application/json": { schema: ErrorSchema } }, description });

/** The refusals every authenticated route can give. */
export const commonErrors = {
  400: errorResponse("Bad input: malformed body, failed validation, bad hex or key size"),
  401: errorResponse("Missing, unknown, expired or revoked token"),
  403: errorResponse("The token's role may not do this"),
} as const;

export const notFound = { 404: errorResponse("No such resource") } as const;
export const conflict = { 409: errorResponse("Conflicts with the current state") } as const;
export { errorResponse };

/**
 * Input validation failures become `validation_failed`, unless a field's own check names a
 * sharper code (bad_hex, bad_key_size) through its issue params.
 */
export function newApp() {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      const issues = result.error.issues;
      const sharp = issues.map((i) => (i as { params?: { gridkey?: ErrorCode } }).params?.gridkey).find(Boolean);
      const message = issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ");
      throw new GridkeyError(sharp ?? "validation_failed", message);
    },
  });
  // The document names each route's roles from the very middleware that enforces them, so
  // the reference cannot drift from what the API admits.
  const register = app.openapi;
  app.openapi = ((route, handler, hook) => register(withRoles(route), handler, hook)) as typeof register;
  return app;
}

/** The OpenAPI extension that lists the roles a route admits (`requireRole`). */
export const ROLES_EXTENSION = "x-gridkey-roles";

function withRoles<R extends RouteConfig>(route: R): R {
  const roles = [route.middleware ?? []].flat().flatMap((m) => (m as { roles?: readonly Role[] }).roles ?? []);
  return roles.length === 0 ? route : { ...route, [ROLES_EXTENSION]: roles };
}

export function requireRole(...roles: Role[]): MiddlewareHandler<AppEnv> & { roles: readonly Role[] } {
  const guard: MiddlewareHandler<AppEnv> = async (c, next) => {
    const { role } = c.get("principal");
    if (!roles.includes(role)) throw new GridkeyError("forbidden", `this needs one of the roles: ${roles.join(", ")}`);
    await next();
  };
  return Object.assign(guard, { roles });
}

/** A hex string of an exact byte length (or any of several), with its own error codes. */
export function hexBytes(lengths: number | number[], sizeCode: ErrorCode = "bad_key_size") {
  const allowed = Array.isArray(lengths) ? lengths : [lengths];
  return z
    .string()
    .max(4096)
    .superRefine((s, ctx) => {
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) {
        ctx.addIssue({ code: "custom", message: "not an even-length hex string", params: { gridkey: "bad_hex" } });
      } else if (allowed.length > 0 && !allowed.includes(s.length / 2)) {
        ctx.addIssue({ code: "custom", message: `must be ${allowed.join(" or ")} bytes`, params: { gridkey: sizeCode } });
      }
    });
}

export const MeterId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, "1-64 characters: letters, digits, . _ : -")
  .openapi({ example: "MTR-000001" });

export const Region = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "1-32 characters: lower-case letters, digits, -")
  .openapi({ example: "north-1" });

export const Name = z.string().min(1).max(100);

export const Timestamp = z.string().openapi({ format: "date-time" });
