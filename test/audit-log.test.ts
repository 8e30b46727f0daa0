import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, tokenFor, unique } from "./helpers/http";
import { meterInput } from "./helpers/meters";

const verify = async () => (await call("GET", "/v1/admin/audit/verify")).body;

describe("the audit log", () => {
  it("chains every record to the one before and verifies end to end", async () => {
    await call("POST", "/v1/admin/meters", { json: await meterInput() });
    const report = await verify();
    expect(report.ok).toBe(true);
    expect(report.records).toBeGreaterThan(0);
    expect(report.firstBroken).toBeUndefined();
  });

  it("pages in order for auditors, with no key material", async () => {
    const auditor = await tokenFor("auditor");
    for (let i = 0; i < 3; i++) await call("POST", "/v1/admin/meters", { json: await meterInput() });
    const first = await call("GET", "/v1/admin/audit?limit=2", { token: auditor });
    expect(first.status).toBe(200);
    expect(first.body.records.map((r: { seq: number }) => r.seq)).toEqual([1, 2]);
    const second = await call("GET", `/v1/admin/audit?after=${first.body.next}&limit=2`, { token: auditor });
    expect(second.body.records[0].seq).toBe(3);
    expect(second.body.records[0].prevHash).toBe(first.body.records[1].hash);
    expect(JSON.stringify(first.body)).not.toMatch(/wrapped|sealed/);
  });

  it("keeps its chain whole when many writers append at once", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => call("POST", "/v1/admin/tokens", { json: { name: unique("c"), role: "auditor" } })));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect((await verify()).ok).toBe(true);
  });

  it("names the first record that was tampered with, or removed", async () => {
    for (let i = 0; i < 3; i++) await call("POST", "/v1/admin/tokens", { json: { name: unique("t"), role: "auditor" } });
    const { seq } = (await env.DB.prepare("SELECT MAX(seq) AS seq FROM audit_log").first<{ seq: number }>())!;
    const original = (await env.DB.prepare("SELECT details FROM audit_log WHERE seq = ?").bind(seq - 1).first<{ details: string }>())!;
    try {
      await env.DB.prepare("UPDATE audit_log SET details = '{\"forged\":true}' WHERE seq = ?").bind(seq - 1).run();
      expect(await verify()).toMatchObject({ ok: false, records: seq - 2, firstBroken: { seq: seq - 1, reason: "hash does not match the record's contents" } });
    } finally {
      await env.DB.prepare("UPDATE audit_log SET details = ? WHERE seq = ?").bind(original.details, seq - 1).run();
    }
    expect((await verify()).ok).toBe(true);


    const kept = (await env.DB.prepare("SELECT * FROM audit_log WHERE seq = ?").bind(seq - 1).first<Record<string, unknown>>())!;
    await env.DB.prepare("DELETE FROM audit_log WHERE seq = ?").bind(seq - 1).run();
    try {
      expect(await verify()).toMatchObject({ ok: false, firstBroken: { seq, reason: `record ${seq - 1} is missing` } });
    } finally {
      const cols = Object.keys(kept);
      await env.DB.prepare(`INSERT INTO audit_log (${cols.join(",")}) VALUES (${cols.map(() => "?").join(",")})`).bind(...cols.map((c) => kept[c])).run();
    }
    expect((await verify()).ok).toBe(true);
  });

  it("fails closed: when the record cannot be written, the change is not made", async () => {
    const input = await meterInput();
    await env.DB.prepare("CREATE TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END").run();
    try {
      const res = await call("POST", "/v1/admin/meters", { json: input });
      expect([res.status, res.body.error.code]).toEqual([503, "storage_unavailable"]);
      const revoke = await call("POST", "/v1/admin/tokens", { json: { name: unique("x"), role: "auditor" } });
      expect(revoke.status).toBe(503);
    } finally {
      await env.DB.prepare("DROP TRIGGER audit_down").run();
    }
    const meter = await env.DB.prepare("SELECT COUNT(*) AS n FROM meters WHERE id = ?").bind(input.id).first<{ n: number }>();
    const keys = await env.DB.prepare("SELECT COUNT(*) AS n FROM keys WHERE owner_id = ?").bind(input.id).first<{ n: number }>();
    expect([meter!.n, keys!.n]).toEqual([0, 0]);
    expect((await call("POST", "/v1/admin/meters", { json: input })).status).toBe(201);
  });
});
