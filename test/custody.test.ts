import { env } from "cloudflare:workers";
import { createScheduledController } from "cloudflare:test";
import worker from "../workers/index";
import { describe, expect, it } from "vitest";
import { toHex, utf8 } from "../functions/crypto";
import { Custody } from "../functions/custody";
import { database } from "../functions/db";
import { keyAad, openKey, type KeyRow } from "../functions/key-store";
import { rewrapChunk, rotationStatus } from "../functions/master-key-rotation";
import { call } from "./helpers/http";
import { meterInput } from "./helpers/meters";

const ctx = { actor: { id: "test", role: "admin" }, requestId: "test" };
const custodyWith = (current: string) => Custody.fromConfig(env.MASTER_KEYS, current);

async function allKeys(): Promise<KeyRow[]> {
  return database(env.DB).query.keys.findMany({ where: (k, { isNotNull }) => isNotNull(k.wrapped) });
}

describe("master-key custody", () => {
  it("seals under the current version and opens by the version recorded", async () => {
    const v1 = await custodyWith("1");
    const v2 = await custodyWith("2");
    const aad = utf8("aad");
    const sealed = await v1.seal(utf8("secret"), aad);
    expect(sealed.mkVersion).toBe(1);
    expect(await v2.open(sealed.mkVersion, sealed.sealed, aad)).toEqual(utf8("secret"));
    await expect(v2.open(2, sealed.sealed, aad)).rejects.toThrow();
  });

  it("binds sealed material to its key id, version and class", async () => {
    const custody = await custodyWith("1");
    const sealed = await custody.seal(utf8("k"), keyAad("key_a", 1, "kek"));
    for (const aad of [keyAad("key_b", 1, "kek"), keyAad("key_a", 2, "kek"), keyAad("key_a", 1, "guek")]) {
      await expect(custody.open(1, sealed.sealed, aad)).rejects.toThrow();
    }
  });

  it("refuses malformed configuration without echoing it", async () => {
    const secret = "1:" + "ab".repeat(31);
    await expect(Custody.fromConfig(secret, "1")).rejects.toThrow(/MASTER_KEYS is malformed/);
    await expect(Custody.fromConfig(secret, "1")).rejects.not.toThrow(new RegExp("abab"));
    await expect(Custody.fromConfig("", "1")).rejects.toThrow(/not configured/);
    await expect(Custody.fromConfig(`1:${"00".repeat(32)}`, "2")).rejects.toThrow(/MASTER_KEY_CURRENT/);
  });

  it("a version custody does not hold is a clear 503-class error", async () => {
    const custody = await Custody.fromConfig(`7:${"11".repeat(32)}`, "7");
    await expect(custody.open(1, "AAAA", utf8(""))).rejects.toMatchObject({ code: "master_key_unavailable" });
  });
});

describe("master-key rotation", () => {
  it("re-seals every key in resumable chunks, every key readable at every step", async () => {
    for (let i = 0; i < 4; i++) await call("POST", "/v1/admin/meters", { json: await meterInput() });
    const db = database(env.DB);
    const v1 = await custodyWith("1");
    const v2 = await custodyWith("2");
    // Drain anything an earlier test left under version 2, so all keys start on version 1.
    while ((await rewrapChunk(db, v1, ctx, 1000)).remaining > 0);
    const before = new Map<string, string>();
    for (const row of await allKeys()) before.set(`${row.id}/${row.version}`, toHex(await openKey(v1, row)));

    let chunks = 0;
    for (;;) {
      const { rewrapped, remaining } = await rewrapChunk(db, v2, ctx, 5);
      chunks++;
      expect(rewrapped).toBeLessThanOrEqual(5);
      // Between chunks, every key opens with what custody holds, and holds the same material.
      for (const row of await allKeys()) expect(toHex(await openKey(v2, row))).toBe(before.get(`${row.id}/${row.version}`));
      if (remaining === 0) break;
    }
    expect(chunks).toBeGreaterThan(2);
    const status = await rotationStatus(db, v2);
    expect(status).toMatchObject({ current: 2, pending: 0, unreadable: 0, complete: true });
    expect(status.byVersion).toEqual([{ version: 2, keys: before.size, held: true }]);
    expect((await rewrapChunk(db, v2, ctx)).rewrapped).toBe(0);
  });

  it("reports keys under a version custody no longer holds, and leaves them alone", async () => {
    const db = database(env.DB);
    const onlyV1 = await Custody.fromConfig(env.MASTER_KEYS.split(",")[0]!, "1");
    const v2 = await custodyWith("2");
    await call("POST", "/v1/admin/meters", { json: await meterInput() });
    while ((await rewrapChunk(db, v2, ctx, 1000)).remaining > 0);
    const status = await rotationStatus(db, onlyV1);
    expect(status.unreadable).toBeGreaterThan(0);
    expect(status.byVersion.find((v) => v.version === 2)?.held).toBe(false);
    expect((await rewrapChunk(db, onlyV1, ctx)).rewrapped).toBe(0);
  });

  it("the cron advances a rotation to the configured current version", async () => {
    const db = database(env.DB);
    await call("POST", "/v1/admin/meters", { json: await meterInput() });
    while ((await rewrapChunk(db, await custodyWith("2"), ctx, 1000)).remaining > 0);
    const custody = await custodyWith(env.MASTER_KEY_CURRENT);
    const pending = (await rotationStatus(db, custody)).pending;
    expect(pending).toBeGreaterThan(0);
    for (let run = 0; run < Math.ceil(pending / 200) + 1; run++) {
      await worker.scheduled(createScheduledController({ scheduledTime: Date.now() + run, cron: "*/5 * * * *" }), env);
    }
    expect((await rotationStatus(db, custody)).pending).toBe(0);
    const audit = await env.DB.prepare("SELECT actor FROM audit_log WHERE action = 'master_key.rewrap' ORDER BY seq DESC LIMIT 1").first<{ actor: string }>();
    expect(audit!.actor).toBe("cron");
  });

  it("is driven over the admin API too", async () => {
    const status = await call("GET", "/v1/admin/master-key");
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ current: 1, held: [1, 2], unreadable: 0 });
    const step = await call("POST", "/v1/admin/master-key/rewrap", { json: { limit: 10 } });
    expect(step.status).toBe(200);
    expect(step.body).toHaveProperty("remaining");
  });
});
