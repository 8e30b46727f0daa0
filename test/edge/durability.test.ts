import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CborMap } from "../../edhoc/cbor";
import { toHex } from "../../functions/crypto";
import { call } from "../helpers/http";
import { TestMeter } from "../helpers/test-meter";

const stubOf = (region: string) => env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(region));

describe("the concentrator across restarts and time", () => {
  it("keeps sessions and counters through an eviction: the session goes on, a replay stays refused", async () => {
    const meter = await TestMeter.enroll("east-3");
    await meter.connect();
    const keys = await meter.fetchKeys();
    await meter.request("reading", new CborMap([["apdu", await meter.reading(keys.guek!.key, keys.ak!.key, 1)]]));
    const before = meter.lastRecord!;
    const beforeCounter = meter.counter;

    await evictDurableObject(stubOf("east-3"));

    expect((await meter.send(before, beforeCounter)).error).toBe("replayed_message");
    const reading = await meter.request("reading", new CborMap([["apdu", await meter.reading(keys.guek!.key, keys.ak!.key, 1)]]));
    expect(reading.response).toMatchObject({ ok: false, code: "reading_replayed" });
    expect((await meter.request("ping")).status).toBe(200);
  });

  it("stores session keys sealed under the master key, never in the clear", async () => {
    const meter = await TestMeter.enroll("east-4");
    await meter.connect();
    const stored = await runInDurableObject(stubOf("east-4"), async (_instance, state) => state.storage.get<Record<string, unknown>>(`s:${toHex(meter.connectionId!)}`));
    expect(stored).toMatchObject({ meterId: meter.id, lastCounter: 1, mkVersion: 1 });
    const text = JSON.stringify(stored);
    for (const key of Object.values(meter.keys!)) expect(text).not.toContain(toHex(key));
  });

  it("refuses an expired session, and the meter can start over", async () => {
    const meter = await TestMeter.enroll("east-5");
    await meter.connect();
    await runInDurableObject(stubOf("east-5"), async (_instance, state) => {
      const key = `s:${toHex(meter.connectionId!)}`;
      const s = await state.storage.get<{ expiresAt: number }>(key);
      await state.storage.put(key, { ...s, expiresAt: Date.now() - 1 });
    });
    await evictDurableObject(stubOf("east-5")); // drop the in-memory copy: storage is the truth
    const expired = await meter.request("ping");
    expect([expired.status, expired.error]).toEqual([401, "session_expired"]);
    const audit = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'edge.refused' AND target_id = ? AND details LIKE '%session_expired%'").bind(meter.id).first<{ n: number }>();
    expect(audit!.n).toBe(1);
    expect((await meter.request("ping")).error).toBe("unknown_session");
    expect((await meter.connect()).status).toBe(200);
    // The meter's session index holds only what is alive: the expired session is gone for good.
    const index = await runInDurableObject(stubOf("east-5"), async (_i, state) => state.storage.get<string[]>(`m:${meter.id}`));
    expect(index).toEqual([toHex(meter.connectionId!)]);
  });
});

describe("key changes reach the meter through its session", () => {
  it("delivers a rotated GUEK as new, activates it on acknowledgement, and keeps the old one readable meanwhile", async () => {
    const meter = await TestMeter.enroll();
    await meter.connect();
    const old = await meter.fetchKeys();
    const rotated = await call("POST", `/v1/admin/meters/${meter.id}/keys/guek/rotate`);
    expect([rotated.status, rotated.body.state, rotated.body.version]).toEqual([201, "new", 2]);
    const again = await call("POST", `/v1/admin/meters/${meter.id}/keys/guek/rotate`);
    expect([again.status, again.body.error.code]).toEqual([409, "invalid_state"]);

    const delivered = await meter.fetchKeys();
    expect(delivered.guek).toMatchObject({ version: 2, state: "new" });
    expect(delivered.guek!.key).not.toEqual(old.guek!.key);

    // Until it acknowledges, frames under the old GUEK still count.
    const underOld = await meter.request("reading", new CborMap([["apdu", await meter.reading(old.guek!.key, old.ak!.key, 1)]]));
    expect(underOld.response?.ok).toBe(true);

    const ack = await meter.request("ack", new CborMap([["keys", [[delivered.guek!.keyId, 2]]]]));
    expect(ack.response).toEqual({ ok: true, result: new CborMap([["acknowledged", 1]]) });
    const versions = await call("GET", `/v1/admin/keys/${delivered.guek!.keyId}`);
    expect(versions.body.versions.map((v: { version: number; state: string }) => [v.version, v.state])).toEqual([[1, "retired"], [2, "active"]]);
    const underNew = await meter.request("reading", new CborMap([["apdu", await meter.reading(delivered.guek!.key, old.ak!.key, 1)]]));
    expect(underNew.response?.ok).toBe(true);

    const twice = await meter.request("ack", new CborMap([["keys", [[delivered.guek!.keyId, 2]]]]));
    expect(twice.response).toMatchObject({ ok: false, code: "bad_parameter" });
    const audit = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'meter.key.acknowledge' AND target_id = ?").bind(delivered.guek!.keyId).first<{ n: number }>();
    expect(audit!.n).toBe(1);
  });
});
