import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, tokenFor, unique } from "../helpers/http";
import { hashToken } from "../../functions/operator-tokens";

describe("operator tokens", () => {
  it("shows a new token once and stores only its hash", async () => {
    const name = unique("ops");
    const created = await call("POST", "/v1/admin/tokens", { json: { name, role: "operator" } });
    expect(created.status).toBe(201);
    const token: string = created.body.token;
    expect(token).toMatch(/^gk_[A-Za-z0-9_-]{43}$/);

    const row = await env.DB.prepare("SELECT * FROM operator_tokens WHERE id = ?").bind(created.body.tokenInfo.id).first<Record<string, unknown>>();
    expect(row!.token_hash).toBe(await hashToken(token));
    expect(JSON.stringify(row)).not.toContain(token);

    const list = await call("GET", "/v1/admin/tokens");
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(token);
    expect(list.body.tokens.some((t: { name: string }) => t.name === name)).toBe(true);

    const use = await call("GET", "/v1/admin/meters", { token });
    expect(use.status).toBe(200);
  });

  it("refuses a missing, malformed or unknown token", async () => {
    expect((await call("GET", "/v1/admin/meters", { token: null })).body.error.code).toBe("unauthorized");
    expect((await call("GET", "/v1/admin/meters", { token: "has spaces" })).body.error.code).toBe("unauthorized");
    const unknown = await call("GET", "/v1/admin/meters", { token: "gk_unknown" });
    expect([unknown.status, unknown.body.error.code]).toEqual([401, "unauthorized"]);
  });

  it("refuses a revoked token, and says so", async () => {
    const created = await call("POST", "/v1/admin/tokens", { json: { name: unique("rev"), role: "auditor" } });
    const revoked = await call("DELETE", `/v1/admin/tokens/${created.body.tokenInfo.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    const use = await call("GET", "/v1/admin/meters", { token: created.body.token });
    expect([use.status, use.body.error.code]).toEqual([401, "token_revoked"]);
    const again = await call("DELETE", `/v1/admin/tokens/${created.body.tokenInfo.id}`);
    expect([again.status, again.body.error.code]).toEqual([409, "invalid_state"]);
    const missing = await call("DELETE", "/v1/admin/tokens/tok_nothere");
    expect([missing.status, missing.body.error.code]).toEqual([404, "token_not_found"]);
  });

  it("refuses an expired token", async () => {
    const created = await call("POST", "/v1/admin/tokens", { json: { name: unique("exp"), role: "auditor", expiresInSeconds: 60 } });
    expect(created.status).toBe(201);
    await env.DB.prepare("UPDATE operator_tokens SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, created.body.tokenInfo.id).run();
    const use = await call("GET", "/v1/admin/meters", { token: created.body.token });
    expect([use.status, use.body.error.code]).toEqual([401, "token_expired"]);
  });

  it("binds headend tokens to a headend transport key, and only them", async () => {
    const noKey = await call("POST", "/v1/admin/tokens", { json: { name: unique("he"), role: "headend" } });
    expect([noKey.status, noKey.body.error.code]).toEqual([400, "bad_parameter"]);
    const missing = await call("POST", "/v1/admin/tokens", { json: { name: unique("he"), role: "headend", transportKeyId: "tk_none" } });
    expect([missing.status, missing.body.error.code]).toEqual([404, "transport_key_not_found"]);
    const stray = await call("POST", "/v1/admin/tokens", { json: { name: unique("op"), role: "operator", transportKeyId: "tk_none" } });
    expect([stray.status, stray.body.error.code]).toEqual([400, "bad_parameter"]);
  });

  it("lets only admins manage tokens", async () => {
    const operator = await tokenFor("operator");
    const res = await call("POST", "/v1/admin/tokens", { token: operator, json: { name: "x", role: "admin" } });
    expect([res.status, res.body.error.code]).toEqual([403, "forbidden"]);
  });
});
