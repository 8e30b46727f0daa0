// The OpenAPI document and the reference page (issue 9): every route the worker serves is
// in the document and every documented route is served, checked against Hono's own route
// table, so adding a route without createRoute fails here. The document is also validated
// against the OpenAPI 3.1 schema, in Node (test/e2e/openapi.e2e.test.ts): the validator
// reads its schemas from disk, which workerd cannot.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { ROLES_EXTENSION } from "../../functions/api/http";
import { app } from "../../workers/app";
import { operationAnchor, renderReference } from "../../workers/reference-page";
import { DOCUMENT_CONFIG } from "../../workers/reference";
import { call } from "../helpers/http";

const METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options"]);

/** "GET /v1/admin/meters/{id}" for every handler an app serves (Hono's `:id` as OpenAPI's `{id}`). */
function served(routes: ReadonlyArray<{ method: string; path: string }>): Set<string> {
  const out = new Set<string>();
  for (const r of routes) {
    if (r.method === "ALL") continue; // middleware (app.use): checked to be wildcards below
    out.add(`${r.method.toUpperCase()} ${r.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}")}`);
  }
  return out;
}

function documented(doc: { paths?: object }): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries<object>((doc.paths ?? {}) as Record<string, object>)) {
    for (const method of Object.keys(item)) if (METHODS.has(method)) out.add(`${method.toUpperCase()} ${path}`);
  }
  return out;
}

const difference = (a: Set<string>, b: Set<string>) => [...a].filter((x) => !b.has(x)).sort();

async function servedDocument() {
  const res = await call("GET", "/v1/openapi.json", { token: null });
  expect(res.status).toBe(200);
  return res.body;
}

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 and names itself", async () => {
    const doc = await servedDocument();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: "gridkey", version: expect.any(String) });
    expect(doc.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" });
  });

  it("documents every route the worker serves, and serves every route it documents", async () => {
    const doc = await servedDocument();
    const routes = served(app.routes);
    expect(routes.size).toBeGreaterThan(30); // the walk found the app's routes (39 today)
    expect(difference(routes, documented(doc)), "served but not in /v1/openapi.json").toEqual([]);
    expect(difference(documented(doc), routes), "in /v1/openapi.json but not served").toEqual([]);
    for (const p of ["GET /health", "POST /.well-known/edhoc", "POST /v1/edge/session", "GET /v1/edge/subscribe", "GET /v1/openapi.json", "GET /v1/reference"]) {
      expect(routes).toContain(p);
    }
  });

  it("has middleware only as wildcards, so no handler hides behind app.use or app.all", () => {
    const all = app.routes.filter((r) => r.method === "ALL");
    expect(all.length).toBeGreaterThan(0);
    for (const r of all) expect(r.path, "an ALL route that is not a wildcard middleware").toMatch(/\*$/);
  });

  it("catches an undocumented route: the same check fails on an app with a plain app.get", () => {
    const probe = new OpenAPIHono();
    probe.openapi(createRoute({ method: "get", path: "/things/{id}", request: { params: z.object({ id: z.string() }) }, responses: { 200: { description: "ok" } } }), (c) => c.text("ok"));
    probe.get("/hidden/:id", (c) => c.text("hidden"));
    const doc = probe.getOpenAPI31Document(DOCUMENT_CONFIG);
    expect(difference(served(probe.routes), documented(doc))).toEqual(["GET /hidden/{id}"]);
    expect(difference(documented(doc), served(probe.routes))).toEqual([]);
  });

  it("names the roles of every operator route from the middleware that enforces them, and marks the rest public", async () => {
    const doc = await servedDocument();
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        expect(op.summary, `${method} ${path} has a summary`).toMatch(/\w/);
        if (path.startsWith("/v1/admin/")) {
          expect(op[ROLES_EXTENSION]?.length, `${method} ${path} names its roles`).toBeGreaterThan(0);
          expect(op.responses["403"], `${method} ${path} documents 403`).toBeDefined();
        } else {
          expect(op.security, `${method} ${path} needs no token`).toEqual([]);
        }
      }
    }
    expect(doc.paths["/v1/admin/meters/{id}/export"].get[ROLES_EXTENSION]).toEqual(["headend"]);
    expect(doc.paths["/v1/admin/tokens"].post[ROLES_EXTENSION]).toEqual(["admin"]);
    expect(doc.paths["/v1/admin/audit"].get[ROLES_EXTENSION]).toEqual(["admin", "auditor"]);
  });

  it("describes request bodies with the schemas that validate them", async () => {
    const doc = await servedDocument();
    const enroll = doc.paths["/v1/admin/meters"].post.requestBody.content["application/json"].schema;
    expect(enroll.$ref).toBe("#/components/schemas/EnrollmentInput");
    const input = doc.components.schemas.EnrollmentInput;
    expect(input.required).toEqual(expect.arrayContaining(["id", "systemTitle", "region"]));
    expect(input.additionalProperties).toBe(false); // .strict(): unknown fields are refused
    // The edge documents its binary media types and the region pattern it checks.
    const edhoc = doc.paths["/.well-known/edhoc"].post;
    expect(Object.keys(edhoc.requestBody.content)).toEqual(["application/cid-edhoc+cbor-seq"]);
    expect(edhoc.parameters[0]).toMatchObject({ name: "region", in: "query", required: true });
  });
});

describe("the reference page", () => {
  it("is served as HTML that no script can run in, listing every operation with its roles", async () => {
    const res = await call("GET", "/v1/reference", { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = res.body as string;
    expect(html).not.toMatch(/<script|src=["']?https?:|href=["']?https?:/i);
    const doc = await servedDocument();
    for (const key of documented(doc)) {
      const [method, path] = key.split(" ") as [string, string];
      expect(html, key).toContain(`id="${operationAnchor(method.toLowerCase(), path)}"`);
    }
    expect(html).toContain("roles: <code>headend</code>");
    expect(html).toContain('<a href="#schema-EnrollmentInput">EnrollmentInput</a>');
    expect(html).toContain("<code>replayed_message</code></td><td>409</td>");
  });

  it("escapes everything it takes from the document", () => {
    const evil = '<script>alert("x")</script>';
    const html = renderReference(
      {
        openapi: "3.1.0",
        info: { title: evil, version: "1" },
        paths: { "/a": { get: { summary: evil, parameters: [{ name: evil, in: "query", description: evil }], responses: { "200": { description: evil } } } } },
        components: { schemas: { S: { description: evil } } },
      },
      { [evil]: 400 },
    );
    expect(html).not.toContain("<script");
    expect(html).toContain("&#60;script&#62;");
  });
});
