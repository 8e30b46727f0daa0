import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../functions/app-env";
import { CLIENT_JS } from "./client";
import { SHELL_HTML } from "./shell";
import { DASHBOARD_CSS } from "./style";

/**
 * Only this origin's script, style and API; no inline code, no framing, no form posts (the
 * sign-in form is handled in script, so a token can never be submitted into a URL).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const HEADERS = {
  "Content-Security-Policy": DASHBOARD_CSP,
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
};

/** A key, so the browser does not ask for /favicon.ico (a 404 in every tab's console). */
const FAVICON_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="5" cy="8" r="3.5" fill="none" stroke="#0b5cad" stroke-width="2"/><path d="M8.5 8H15M12.5 8v3M14.5 8v2" stroke="#0b5cad" stroke-width="2"/></svg>';

/** A static file of the dashboard, in the OpenAPI document like every route the worker serves. */
const asset = (path: string, type: string, summary: string) =>
  createRoute({
    method: "get",
    path,
    summary,
    security: [],
    tags: ["dashboard"],
    responses: { 200: { description: summary, content: { [type]: { schema: z.string() } } } },
  });

const serve = (body: string, type: string) => () => new Response(body, { headers: { ...HEADERS, "Content-Type": type } });

/**
 * The operator dashboard, mounted at /dashboard: a static shell, its script and stylesheet.
 * It serves no data itself; the browser reads and acts through /v1/admin with the operator's
 * token, so roles are checked and actions audited exactly as for any other API client.
 */
export const dashboard = new OpenAPIHono<AppEnv>()
  .openapi(asset("/", "text/html", "The operator dashboard (sign in with an operator token)"), serve(SHELL_HTML, "text/html; charset=utf-8"))
  .openapi(asset("/app.js", "text/javascript", "The dashboard's script"), serve(CLIENT_JS, "text/javascript; charset=utf-8"))
  .openapi(asset("/app.css", "text/css", "The dashboard's stylesheet"), serve(DASHBOARD_CSS, "text/css; charset=utf-8"))
  .openapi(asset("/favicon.svg", "image/svg+xml", "The dashboard's icon"), serve(FAVICON_SVG, "image/svg+xml"));
