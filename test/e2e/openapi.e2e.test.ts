// The served OpenAPI document is a valid OpenAPI 3.1 document, checked by an independent
// validator against the OAS 3.1 JSON Schema. It runs in Node against gridkey under
// `wrangler dev`: the validator loads its schemas from disk, which workerd cannot. Route
// coverage (every served route documented, and back) is test/api/openapi.test.ts.
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "./wrangler-dev";

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer();
});

afterAll(async () => {
  await server?.stop();
});

describe("GET /v1/openapi.json under wrangler dev", () => {
  it("validates as OpenAPI 3.1, and every $ref resolves", async () => {
    const res = await fetch(`${server.url}/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    // resolveRefs throws on a $ref that names nothing.
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it("a validator does catch a broken document (the check above can fail)", async () => {
    const doc = (await (await fetch(`${server.url}/v1/openapi.json`)).json()) as { paths: Record<string, any> };
    doc.paths["/health"].get.responses = { "200": { content: {} } }; // a response without its required description
    const result = await new Validator().validate(doc);
    expect(result.valid).toBe(false);
  });

  it("serves the reference page without a token", async () => {
    const res = await fetch(`${server.url}/v1/reference`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toContain("API reference");
  });
});
