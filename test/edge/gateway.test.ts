import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CborMap } from "../../edhoc/cbor";
import { toHex } from "../../functions/crypto";
import { call } from "../helpers/http";
import { post, TestMeter } from "../helpers/test-meter";

describe("gateways", () => {
  it("enroll with an identity but no keys, and open their own sessions", async () => {
    const gateway = await TestMeter.enrollGateway();
    const keys = await call("GET", `/v1/admin/meters/${gateway.id}/keys`);
    expect(keys.body.keys).toEqual([]);
    const listed = await call("GET", `/v1/admin/meters?kind=gateway&region=north-1&limit=1000`);
    expect(listed.body.meters.some((m: { id: string; kind: string }) => m.id === gateway.id && m.kind === "gateway")).toBe(true);
    expect((await gateway.connect()).status).toBe(200);
  });

  it("are refused any meter key, and the refusal is audited", async () => {
    const gateway = await TestMeter.enrollGateway();
    await gateway.connect();
    const asked = await gateway.request("keys");
    expect(asked.response).toMatchObject({ ok: false, code: "gateway_forbidden" });
    const ack = await gateway.request("ack", new CborMap([["keys", []]]));
    expect(ack.response).toMatchObject({ ok: false, code: "gateway_forbidden" });
    const audit = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'edge.refused' AND target_id = ? AND details LIKE '%gateway_forbidden%'").bind(gateway.id).first<{ n: number }>();
    expect(audit!.n).toBe(2);
  });

  it("relay a meter's EDHOC and session without being able to read its keys", async () => {
    const meter = await TestMeter.enroll();
    const seen: Uint8Array[] = [];
    meter.transport = async (path, method, body, type) => {
      const res = await post(path, method, body, type);
      const copy = new Uint8Array(await res.clone().arrayBuffer());
      seen.push(copy);
      return res;
    };
    expect((await meter.connect()).status).toBe(200);
    const keys = await meter.fetchKeys();
    for (const k of Object.values(keys)) {
      for (const bytes of seen) expect(toHex(bytes)).not.toContain(toHex(k.key));
    }
  });

  it("upload readings for the active meters of their region, never for others", async () => {
    const gateway = await TestMeter.enrollGateway();
    await gateway.connect();
    const meter = await TestMeter.enroll();
    await meter.connect();
    const keys = await meter.fetchKeys();
    const apdu = await meter.reading(keys.guek!.key, keys.ak!.key, 41);
    const relayed = await gateway.request("reading", new CborMap([["apdu", apdu]]));
    expect(relayed.response).toEqual({ ok: true, result: new CborMap([["invocationCounter", 41]]) });
    const row = await env.DB.prepare("SELECT via FROM readings WHERE meter_id = ?").bind(meter.id).first<{ via: string }>();
    expect(row!.via).toBe(gateway.id);
    expect((await gateway.request("reading", new CborMap([["apdu", apdu]]))).response).toMatchObject({ ok: false, code: "reading_replayed" });

    const far = await TestMeter.enroll("west-9");
    await far.connect();
    const farKeys = await far.fetchKeys();
    const farFrame = await far.reading(farKeys.guek!.key, farKeys.ak!.key, 1);
    expect((await gateway.request("reading", new CborMap([["apdu", farFrame]]))).response).toMatchObject({ ok: false, code: "wrong_region" });

    await call("POST", `/v1/admin/meters/${meter.id}/suspend`);
    const suspended = await gateway.request("reading", new CborMap([["apdu", await meter.reading(keys.guek!.key, keys.ak!.key, 42)]]));
    expect(suspended.response).toMatchObject({ ok: false, code: "meter_suspended" });
  });
});
