import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../functions/app-env";
import { STATUS as ERROR_STATUS } from "../functions/errors";
import { type OpenApiDocument, renderReference } from "./reference-page";

/** What the document says of itself; the paths come from the routes' own declarations. */
export const DOCUMENT_CONFIG = {
  openapi: "3.1.0",
  info: { title: "gridkey", version: "0.1.0", description: "Key management for smart-grid AMI" },
  security: [{ bearer: [] }],
};

const PUBLIC = { security: [], tags: ["service"] };

const documentRoute = createRoute({
  method: "get",
  path: "/v1/openapi.json",
  summary: "This document: the OpenAPI 3.1 description of every route",
  ...PUBLIC,
  responses: { 200: { description: "The OpenAPI 3.1 document", content: { "application/json": { schema: z.record(z.string(), z.unknown()).openapi({ description: "an OpenAPI 3.1 document" }) } } } },
});

const referenceRoute = createRoute({
  method: "get",
  path: "/v1/reference",
  summary: "The API reference as a web page, rendered from the OpenAPI document (no script, nothing fetched from elsewhere)",
  ...PUBLIC,
  responses: { 200: { description: "HTML", content: { "text/html": { schema: z.string() } } } },
});

/** The page only ever shows the document and our own style: no script may run in it. */
const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
};

/** Serves the OpenAPI document and its browsable rendering, both built from `app`'s routes. */
export function mountReference(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  const document = () => app.getOpenAPI31Document(DOCUMENT_CONFIG);
  app.openapi(documentRoute, (c) => c.json(document(), 200));
  app.openapi(referenceRoute, (c) => c.body(renderReference(document() as OpenApiDocument, ERROR_STATUS), 200, PAGE_HEADERS));
}
