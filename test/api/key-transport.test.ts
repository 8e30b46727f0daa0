import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fromHex, toHex, unwrap, wrap } from "../../functions/crypto";
import { custodyFor } from "../../functions/custody";
import { database } from "../../functions/db";
import { activeKeysOfOwner, openKey } from "../../functions/key-store";
import { call, tokenFor, unique } from "../helpers/http";
import { meterInput } from "../helpers/meters";

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

async function transportKey(purpose: "manufacturer" | "headend", key = random(16)) {
  const res = await call("POST", "/v1/admin/transport-keys", { json: { name: unique(purpose), purpose, key: toHex(key) } });
  expect(res.status).toBe(201);
  return { id: res.body.id as string, key };
}

describe("manufacturer keys imported at enrollment", () => {
  it("imports a KEK wrapped under a manufacturer transport key, and generates the rest", async () => {
    const tk = await transportKey("manufacturer");
    const kek = random(16);
    const input = await meterInput({ manufacturerKeys: { transportKeyId: tk.id, kek: toHex(await wrap(tk.key, kek)) } });
    const res = await call("POST", "/v1/admin/meters", { json: input });
    expect(res.status, JSON.stringify(res.body)).toBe(201);

    const rows = await activeKeysOfOwner(database(env.DB), "meter", input.id);
    const byClass = Object.fromEntries(rows.map((r) => [r.keyClass, r]));
    expect(byClass.kek!.origin).toBe("imported");
    expect(byClass.guek!.origin).toBe("generated");
    expect(await openKey(await custodyFor(env), byClass.kek!)).toEqual(kek);
  });

  it("refuses a wrap that fails its integrity check, a wrong key size and a headend key", async () => {
    const tk = await transportKey("manufacturer");
    const tampered = await wrap(tk.key, random(16));
    tampered[3]! ^= 1;
    const bad = await call("POST", "/v1/admin/meters", { json: await meterInput({ manufacturerKeys: { transportKeyId: tk.id, kek: toHex(tampered) } }) });
    expect([bad.status, bad.body.error.code]).toEqual([422, "key_unwrap_failed"]);

    const big = await call("POST", "/v1/admin/meters", { json: await meterInput({ manufacturerKeys: { transportKeyId: tk.id, kek: toHex(await wrap(tk.key, random(32))) } }) });
    expect([big.status, big.body.error.code]).toEqual([400, "bad_key_size"]);

    const he = await transportKey("headend");
    const wrongPurpose = await call("POST", "/v1/admin/meters", { json: await meterInput({ manufacturerKeys: { transportKeyId: he.id, kek: toHex(await wrap(he.key, random(16))) } }) });
    expect([wrongPurpose.status, wrongPurpose.body.error.code]).toEqual([400, "bad_parameter"]);
  });

  it("refuses a transport key of the wrong size or a duplicate name, and never returns one", async () => {
    const short = await call("POST", "/v1/admin/transport-keys", { json: { name: unique("x"), purpose: "headend", key: "00".repeat(10) } });
    expect([short.status, short.body.error.code]).toEqual([400, "bad_key_size"]);
    const key = random(32);
    const name = unique("dup");
    expect((await call("POST", "/v1/admin/transport-keys", { json: { name, purpose: "headend", key: toHex(key) } })).status).toBe(201);
    const dup = await call("POST", "/v1/admin/transport-keys", { json: { name, purpose: "headend", key: toHex(key) } });
    expect([dup.status, dup.body.error.code]).toEqual([409, "duplicate_name"]);
    const list = await call("GET", "/v1/admin/transport-keys");
    expect(JSON.stringify(list.body)).not.toContain(toHex(key));
  });
});

describe("head-end export", () => {
  it("gives a head-end the meter's keys wrapped under its transport key, in DLMS key ids", async () => {
    const he = await transportKey("headend", random(32));
    const token = await tokenFor("headend", { transportKeyId: he.id });
    const input = await meterInput();
    await call("POST", "/v1/admin/meters", { json: input });

    const res = await call("GET", `/v1/admin/meters/${input.id}/export`, { token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.transportKeyId).toBe(he.id);
    expect(res.body.keys.map((k: { class: string; dlmsKeyId: number }) => [k.class, k.dlmsKeyId]).sort()).toEqual([["ak", 2], ["guek", 0], ["kek", 3]]);

    const custody = await custodyFor(env);
    const rows = await activeKeysOfOwner(database(env.DB), "meter", input.id);
    for (const exported of res.body.keys) {
      const row = rows.find((r) => r.id === exported.keyId)!;
      const plain = await openKey(custody, row);
      expect(exported.wrapped).toHaveLength((16 + 8) * 2);
      expect(await unwrap(he.key, fromHex(exported.wrapped))).toEqual(plain);
      expect(JSON.stringify(res.body)).not.toContain(toHex(plain));
    }
    const audit = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'meter.keys.export' AND target_id = ?").bind(input.id).first<{ n: number }>();
    expect(audit!.n).toBe(1);
  });

  it("refuses a revoked meter and an unknown one", async () => {
    const he = await transportKey("headend");
    const token = await tokenFor("headend", { transportKeyId: he.id });
    const input = await meterInput();
    await call("POST", "/v1/admin/meters", { json: input });
    await call("POST", `/v1/admin/meters/${input.id}/revoke`);
    const revoked = await call("GET", `/v1/admin/meters/${input.id}/export`, { token });
    expect([revoked.status, revoked.body.error.code]).toEqual([409, "invalid_state"]);
    const unknown = await call("GET", "/v1/admin/meters/MTR-none/export", { token });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, "meter_not_found"]);
  });
});
