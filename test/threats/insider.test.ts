// Threat model (docs/threat-model.md), malicious insiders: no operator role reads a meter's
// keys through the API in the clear, and the one route that gives keys away (head-end
// export, wrapped) leaves a trail an admin cannot avoid leaving, even one who sets it up.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../functions/crypto";
import { call, tokenFor, unique } from "../helpers/http";
import { enrolledClient } from "../helpers/sdk-meter";

type Role = "admin" | "operator" | "auditor";
let meter: Awaited<ReturnType<typeof enrolledClient>>;
let secrets: string[] = [];
const tokens = {} as Record<Role, string>;

beforeAll(async () => {
  meter = await enrolledClient();
  const keys = await meter.client.fetchKeys();
  secrets = [meter.kek, keys.guek!.key, keys.ak!.key, keys.gbek!.key].map(toHex);
  for (const role of ["admin", "operator", "auditor"] as const) tokens[role] = await tokenFor(role);
});

/** Every read route that says something about the meter, its keys or its history. */
async function everythingReadable(token: string): Promise<string[]> {
  const texts: string[] = [];
  const get = async (path: string) => {
    const res = await call("GET", path, { token });
    texts.push(JSON.stringify(res.body));
    return res;
  };
  await get(`/v1/admin/meters/${meter.id}`);
  const keys = await get(`/v1/admin/meters/${meter.id}/keys`);
  for (const k of keys.body.keys ?? []) await get(`/v1/admin/keys/${k.id}`);
  await get(`/v1/admin/meters?region=north-1&limit=1000`);
  await get(`/v1/admin/meters/${meter.id}/export`);
  await get(`/v1/admin/transport-keys`);
  await get(`/v1/admin/master-key`);
  await get(`/v1/admin/policies`);
  for (let after = 0, pages = 0; after !== null && pages < 200; pages++) {
    const page = await get(`/v1/admin/audit?after=${after}&limit=1000`);
    after = page.body.next ?? null;
  }
  return texts;
}

describe("malicious insiders", () => {
  for (const role of ["admin", "operator", "auditor"] as const) {
    it(`${role}: no read route shows a meter's KEK, GUEK, AK or its region's broadcast key`, async () => {
      const texts = await everythingReadable(tokens[role]);
      expect(texts.length).toBeGreaterThan(8);
      const all = texts.join("\n").toLowerCase();
      for (const s of secrets) expect(all).not.toContain(s);
    });
  }

  it("an admin who makes themselves a head-end gets keys only wrapped, and every step is in the audit log under their name", async () => {
    const admin = await call("POST", "/v1/admin/tokens", { json: { name: unique("rogue"), role: "admin" } });
    const rogue = admin.body.token as string;
    const rogueId = admin.body.tokenInfo.id as string;
    const tk = await call("POST", "/v1/admin/transport-keys", { token: rogue, json: { name: unique("he"), purpose: "headend", key: toHex(crypto.getRandomValues(new Uint8Array(16))) } });
    expect(tk.status).toBe(201);
    const he = await call("POST", "/v1/admin/tokens", { token: rogue, json: { name: unique("he"), role: "headend", transportKeyId: tk.body.id } });
    expect(he.status).toBe(201);
    const exported = await call("GET", `/v1/admin/meters/${meter.id}/export`, { token: he.body.token });
    expect(exported.status).toBe(200);
    for (const s of secrets) expect(JSON.stringify(exported.body).toLowerCase()).not.toContain(s);

    const trail = await env.DB.prepare("SELECT actor, action FROM audit_log WHERE actor IN (?, ?) ORDER BY seq").bind(rogueId, he.body.tokenInfo.id).all<{ actor: string; action: string }>();
    expect(trail.results.map((r) => [r.actor === rogueId ? "rogue admin" : "its head-end", r.action])).toEqual([
      ["rogue admin", "transport_key.import"],
      ["rogue admin", "token.create"],
      ["its head-end", "meter.keys.export"],
    ]);
    expect((await call("GET", "/v1/admin/audit/verify")).body).toMatchObject({ ok: true });
  });
});
