import { describe, expect, it } from "vitest";
import { call } from "../helpers/http";

describe("the HTTP surface", () => {
  it("answers health with a request id", async () => {
    const res = await call("GET", "/health", { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok", service: "gridkey" });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("gives every response its own request id, errors included", async () => {
    const a = await call("GET", "/v1/admin/meters", { token: null });
    const b = await call("GET", "/v1/admin/meters", { token: null });
    expect(a.headers.get("x-request-id")).toBeTruthy();
    expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
  });

  it("refuses an unknown route with a JSON not_found", async () => {
    const res = await call("GET", "/nope", { token: null });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });

  it("publishes an OpenAPI document of every admin route", async () => {
    const res = await call("GET", "/v1/openapi.json", { token: null });
    expect(res.status).toBe(200);
    const paths = Object.keys(res.body.paths);
    for (const p of ["/v1/admin/tokens", "/v1/admin/meters", "/v1/admin/meters/bulk", "/v1/admin/meters/{id}/export", "/v1/admin/audit/verify", "/v1/admin/master-key/rewrap"]) {
      expect(paths).toContain(p);
    }
  });

  it("refuses malformed JSON, wrong media types and oversized bodies, each with its own code", async () => {
    const malformed = await call("POST", "/v1/admin/tokens", { body: "{not json", contentType: "application/json" });
    expect([malformed.status, malformed.body.error.code]).toEqual([400, "malformed_body"]);

    const wrongType = await call("POST", "/v1/admin/tokens", { body: "name=x", contentType: "application/x-www-form-urlencoded" });
    expect([wrongType.status, wrongType.body.error.code]).toEqual([415, "unsupported_media_type"]);

    const big = await call("POST", "/v1/admin/tokens", { json: { name: "x".repeat(70_000), role: "auditor" } });
    expect([big.status, big.body.error.code]).toEqual([413, "body_too_large"]);

    const invalid = await call("POST", "/v1/admin/tokens", { json: { name: "x", role: "root" } });
    expect([invalid.status, invalid.body.error.code]).toEqual([400, "validation_failed"]);

    const extra = await call("POST", "/v1/admin/tokens", { json: { name: "x", role: "auditor", sneaky: 1 } });
    expect([extra.status, extra.body.error.code]).toEqual([400, "validation_failed"]);
  });
});
