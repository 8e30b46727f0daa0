import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, tokenFor, unique } from "../helpers/http";
import { meterInput, publicKey, systemTitle } from "../helpers/meters";

const enroll = (json: unknown, token?: string) => call("POST", "/v1/admin/meters", { json, token });

describe("enrolling one meter", () => {
  it("registers the meter and creates its KEK, GUEK and AK", async () => {
    const input = await meterInput();
    const res = await enroll(input, await tokenFor("operator"));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: input.id, region: "north-1", suite: 1, identityCurve: "P-256", state: "active", systemTitle: input.systemTitle });

    const keys = await call("GET", `/v1/admin/meters/${input.id}/keys`);
    expect(keys.status).toBe(200);
    expect(keys.body.keys.map((k: { class: string }) => k.class).sort()).toEqual(["ak", "guek", "kek"]);
    for (const k of keys.body.keys) {
      expect(k).toMatchObject({ version: 1, state: "active", algorithm: "AES-128", origin: "generated", masterKeyVersion: 1 });
      expect(Object.keys(k)).not.toContain("wrapped");
    }
    const versions = await call("GET", `/v1/admin/keys/${keys.body.keys[0].id}`);
    expect(versions.body.versions).toHaveLength(1);
  });

  it("stores key material only sealed: no row holds a 16-byte key in the clear", async () => {
    const input = await meterInput();
    await enroll(input);
    const rows = await env.DB.prepare("SELECT wrapped, mk_version FROM keys WHERE owner_id = ?").bind(input.id).all<{ wrapped: string }>();
    expect(rows.results).toHaveLength(3);
    for (const r of rows.results) expect(r.wrapped).toMatch(/^[A-Za-z0-9_-]{59,}$/); // 12 IV + 16 key + 16 tag, base64url
  });

  it("accepts P-256 as compressed SEC1 and SPKI, and P-384 with AES-256 keys for suite 2", async () => {
    const raw = await publicKey("P-256");
    const compressed = (parseInt(raw.slice(128), 16) % 2 === 0 ? "02" : "03") + raw.slice(2, 66);
    expect((await enroll(await meterInput({ identityPublicKey: compressed }))).body.identityPublicKey).toBe(raw);
    expect((await enroll(await meterInput({ identityPublicKey: await publicKey("P-256", "spki") }))).status).toBe(201);

    const suite2 = await meterInput({ suite: 2 });
    const res = await enroll(suite2);
    expect([res.status, res.body.identityCurve]).toEqual([201, "P-384"]);
    const keys = await call("GET", `/v1/admin/meters/${suite2.id}/keys`);
    expect(keys.body.keys.every((k: { algorithm: string }) => k.algorithm === "AES-256")).toBe(true);
  });

  it("refuses bad input with a code for each mistake", async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ systemTitle: "XYZ" }, 400, "bad_hex"],
      [{ systemTitle: "0102" }, 400, "bad_parameter"],
      [{ identityPublicKey: "04" + "00".repeat(64) }, 400, "bad_public_key"],
      [{ identityPublicKey: "zz" }, 400, "bad_hex"],
      [{ identityPublicKey: "04" + "11".repeat(20) }, 400, "bad_public_key"],
      [{ suite: 2 }, 400, "bad_public_key"],
      [{ suite: 7 }, 400, "validation_failed"],
      [{ region: "North 1" }, 400, "validation_failed"],
      [{ id: "bad id!" }, 400, "validation_failed"],
      [{ manufacturerKeys: { transportKeyId: "tk_none", kek: "00".repeat(24) } }, 404, "transport_key_not_found"],
    ];
    for (const [override, status, code] of cases) {
      const base = await meterInput();
      const res = await enroll({ ...base, ...override, suite: override.suite ?? base.suite });
      expect([res.status, res.body.error?.code], JSON.stringify(override)).toEqual([status, code]);
    }
  });

  it("refuses a duplicate id and a duplicate system title", async () => {
    const first = await meterInput();
    expect((await enroll(first)).status).toBe(201);
    const sameId = await enroll(await meterInput({ id: first.id }));
    expect([sameId.status, sameId.body.error.code]).toEqual([409, "duplicate_meter"]);
    const sameTitle = await enroll(await meterInput({ systemTitle: first.systemTitle.toLowerCase() }));
    expect([sameTitle.status, sameTitle.body.error.code]).toEqual([409, "duplicate_system_title"]);
  });
});

describe("listing and reading meters", () => {
  it("pages through a region with a cursor and filters by state and suite", async () => {
    const region = unique("r").toLowerCase();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const input = await meterInput({ region, id: `${region}-m${i}` });
      ids.push(input.id);
      await enroll(input);
    }
    await call("POST", `/v1/admin/meters/${ids[1]}/suspend`);

    const first = await call("GET", `/v1/admin/meters?region=${region}&limit=2`);
    expect(first.body.meters.map((m: { id: string }) => m.id)).toEqual(ids.slice(0, 2));
    const second = await call("GET", `/v1/admin/meters?region=${region}&limit=2&cursor=${first.body.next}`);
    expect(second.body.meters.map((m: { id: string }) => m.id)).toEqual(ids.slice(2, 4));
    const last = await call("GET", `/v1/admin/meters?region=${region}&limit=2&cursor=${second.body.next}`);
    expect(last.body.meters.map((m: { id: string }) => m.id)).toEqual(ids.slice(4));
    expect(last.body.next).toBeNull();

    const suspended = await call("GET", `/v1/admin/meters?region=${region}&state=suspended`);
    expect(suspended.body.meters.map((m: { id: string }) => m.id)).toEqual([ids[1]]);
    const suite2 = await call("GET", `/v1/admin/meters?region=${region}&suite=2`);
    expect(suite2.body.meters).toEqual([]);

    const bad = await call("GET", "/v1/admin/meters?limit=0");
    expect([bad.status, bad.body.error.code]).toEqual([400, "validation_failed"]);
  });

  it("says meter_not_found for an unknown meter", async () => {
    for (const path of ["/v1/admin/meters/MTR-none", "/v1/admin/meters/MTR-none/keys"]) {
      const res = await call("GET", path);
      expect([res.status, res.body.error.code]).toEqual([404, "meter_not_found"]);
    }
    const res = await call("POST", "/v1/admin/meters/MTR-none/suspend");
    expect([res.status, res.body.error.code]).toEqual([404, "meter_not_found"]);
  });
});

describe("meter lifecycle", () => {
  it("suspends and resumes, and refuses transitions that make no sense", async () => {
    const input = await meterInput();
    await enroll(input);
    const suspended = await call("POST", `/v1/admin/meters/${input.id}/suspend`, { json: { reason: "tamper alarm" } });
    expect([suspended.status, suspended.body.state]).toEqual([200, "suspended"]);
    // A repeat changes nothing and succeeds (so a transition that failed part way can be repeated).
    const twice = await call("POST", `/v1/admin/meters/${input.id}/suspend`);
    expect([twice.status, twice.body.state]).toEqual([200, "suspended"]);
    const resumed = await call("POST", `/v1/admin/meters/${input.id}/resume`);
    expect([resumed.status, resumed.body.state]).toEqual([200, "active"]);
    const resumeActive = await call("POST", `/v1/admin/meters/${input.id}/resume`);
    expect([resumeActive.status, resumeActive.body.state]).toEqual([200, "active"]);
    const audit = await env.DB.prepare("SELECT action FROM audit_log WHERE target_id = ? AND action IN ('meter.suspend', 'meter.resume') ORDER BY seq").bind(input.id).all<{ action: string }>();
    expect(audit.results.map((r) => r.action)).toEqual(["meter.suspend", "meter.resume"]);
  });

  it("revokes for good and destroys the meter's keys, keeping their records", async () => {
    const input = await meterInput();
    await enroll(input);
    const revoked = await call("POST", `/v1/admin/meters/${input.id}/revoke`, { json: { reason: "stolen" } });
    expect([revoked.status, revoked.body.state]).toEqual([200, "revoked"]);
    const keys = await call("GET", `/v1/admin/meters/${input.id}/keys`);
    expect(keys.body.keys).toHaveLength(3);
    for (const k of keys.body.keys) {
      expect(k.state).toBe("destroyed");
      expect(k.destroyedAt).not.toBeNull();
    }
    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM keys WHERE owner_id = ? AND wrapped IS NOT NULL").bind(input.id).first<{ n: number }>();
    expect(stored!.n).toBe(0);
    for (const op of ["resume", "suspend"]) {
      const res = await call("POST", `/v1/admin/meters/${input.id}/${op}`);
      expect([res.status, res.body.error.code]).toEqual([409, "invalid_state"]);
    }
    const again = await call("POST", `/v1/admin/meters/${input.id}/revoke`);
    expect([again.status, again.body.state]).toEqual([200, "revoked"]);
  });

  it("audits every change with who, what and the request id", async () => {
    const operator = await tokenFor("operator");
    const input = await meterInput();
    const res = await enroll(input, operator);
    const requestId = res.headers.get("x-request-id");
    const row = await env.DB.prepare("SELECT * FROM audit_log WHERE target_id = ? AND action = 'meter.enroll'").bind(input.id).first<Record<string, string>>();
    expect(row).toMatchObject({ role: "operator", target_type: "meter", request_id: requestId });
    expect(row!.actor).toMatch(/^tok_/);
  });
});

describe("bulk enrollment", () => {
  it("enrolls 10,000 meters from NDJSON in one call", async () => {
    const region = unique("bulk").toLowerCase();
    const key = await publicKey();
    const lines = Array.from({ length: 10_000 }, (_, i) =>
      JSON.stringify({ id: `${region}-${i}`, systemTitle: systemTitle(), region, suite: 1, identityPublicKey: key }),
    );
    const res = await call("POST", "/v1/admin/meters/bulk", { body: lines.join("\n"), contentType: "application/x-ndjson" });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(201);
    expect(res.body.enrolled).toBe(10_000);
    const counts = await env.DB.prepare("SELECT (SELECT COUNT(*) FROM meters WHERE region = ?1) AS meters, (SELECT COUNT(*) FROM keys WHERE owner_id LIKE ?2) AS keys").bind(region, `${region}-%`).first<{ meters: number; keys: number }>();
    expect(counts).toEqual({ meters: 10_000, keys: 30_000 });
    const audits = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'meter.enroll' AND target_id LIKE ?").bind(`${region}-%`).first<{ n: number }>();
    expect(audits!.n).toBe(10_000);
  });

  it("enrolls from CSV", async () => {
    const region = unique("csv").toLowerCase();
    const rows = ["id,systemTitle,region,suite,identityPublicKey"];
    for (let i = 0; i < 3; i++) rows.push(`${region}-${i},${systemTitle()},${region},1,${await publicKey()}`);
    const res = await call("POST", "/v1/admin/meters/bulk", { body: rows.join("\r\n") + "\r\n", contentType: "text/csv" });
    expect([res.status, res.body.enrolled]).toEqual([201, 3]);
  });

  it("enrolls nothing when any line is bad, and names every bad line", async () => {
    const region = unique("bad").toLowerCase();
    const taken = await meterInput();
    await enroll(taken);
    const good = async (i: number) => JSON.stringify(await meterInput({ id: `${region}-${i}`, region }));
    const dupTitle = systemTitle();
    const lines = [
      await good(0),
      "{not json",
      JSON.stringify({ ...(await meterInput({ region })), systemTitle: "nothex!!" }),
      await good(3),
      JSON.stringify(await meterInput({ id: taken.id })),
      JSON.stringify(await meterInput({ systemTitle: dupTitle })),
      JSON.stringify(await meterInput({ systemTitle: dupTitle })),
      "",
      JSON.stringify(await meterInput({ identityPublicKey: "04" + "00".repeat(64) })),
    ];
    const res = await call("POST", "/v1/admin/meters/bulk", { body: lines.join("\n"), contentType: "application/x-ndjson" });
    expect([res.status, res.body.error.code]).toEqual([422, "bulk_invalid"]);
    expect(res.body.error.details.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([
      [2, "malformed_body"],
      [3, "bad_hex"],
      [5, "duplicate_meter"],
      [7, "duplicate_system_title"],
      [9, "bad_public_key"],
    ]);
    const written = await env.DB.prepare("SELECT COUNT(*) AS n FROM meters WHERE region = ?").bind(region).first<{ n: number }>();
    expect(written!.n).toBe(0);
  });

  it("refuses other media types, an empty body and a bad CSV header", async () => {
    const json = await call("POST", "/v1/admin/meters/bulk", { json: [] });
    expect([json.status, json.body.error.code]).toEqual([415, "unsupported_media_type"]);
    const empty = await call("POST", "/v1/admin/meters/bulk", { body: "\n\n", contentType: "application/x-ndjson" });
    expect([empty.status, empty.body.error.code]).toEqual([422, "bulk_invalid"]);
    const header = await call("POST", "/v1/admin/meters/bulk", { body: "id,colour\nx,red", contentType: "text/csv" });
    expect([header.status, header.body.error.code]).toEqual([422, "bulk_invalid"]);
    const quoted = await call("POST", "/v1/admin/meters/bulk", { body: `id,region\n"a",north`, contentType: "text/csv" });
    expect(quoted.body.error.details.errors[0]).toMatchObject({ line: 2, code: "malformed_body" });
  });
});

describe("bulk bodies", () => {
  it("refuses a body that is not UTF-8", async () => {
    const { exports } = await import("cloudflare:workers");
    const { env } = await import("cloudflare:workers");
    const res = await exports.default.fetch("http://gridkey.test/v1/admin/meters/bulk", {
      method: "POST",
      headers: { authorization: `Bearer ${env.BOOTSTRAP_TOKEN}`, "content-type": "application/x-ndjson" },
      body: Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d),
    });
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([400, "malformed_body"]);
  });
});
