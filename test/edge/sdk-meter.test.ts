// The meter SDK against the real worker and Concentrator DO, inside workerd.
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { p256 } from "@noble/curves/nist.js";
import { describe, expect, it } from "vitest";
import { toHex } from "../../functions/crypto";
import { fetchTrustAnchor, MeterClient, SdkError } from "../../sdk";
import { call, unique } from "../helpers/http";
import { systemTitle } from "../helpers/meters";
import { BASE, enrolledClient, workerFetch } from "../helpers/sdk-meter";

const reading = Uint8Array.of(0x0f, 0, 0, 0, 1, 0, 2, 2, 9, 6, 1, 0, 1, 8, 0, 0xff, 6, 0, 0, 0x30, 0x39);
const enrolled = enrolledClient;

describe("a meter built from the SDK", () => {
  it("enrolls, completes EDHOC, receives its keys, uploads readings and survives a concentrator restart", async () => {
    const { id, client } = await enrolled();
    await client.connect();
    const keys = await client.fetchKeys();
    expect([keys.guek?.key.length, keys.ak?.key.length, keys.gbek?.key.length]).toEqual([16, 16, 16]);
    expect(await client.uploadReading(reading)).toEqual({ invocationCounter: 1 });

    await evictDurableObject(env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName("north-1")));

    expect(await client.uploadReading(reading)).toEqual({ invocationCounter: 2 });
    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM readings WHERE meter_id = ?").bind(id).first<{ n: number }>();
    expect(stored!.n).toBe(2);
  });

  it("is refused after revocation, with the server's code", async () => {
    const { id, client } = await enrolled();
    await client.fetchKeys();
    await call("POST", `/v1/admin/meters/${id}/revoke`);
    const err = await client.uploadReading(reading).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SdkError);
    expect((err as SdkError).code).toBe("meter_revoked"); // the session was dropped; the reconnect is refused
  });

  it("follows a two-phase GUEK and KEK change", async () => {
    const { id, client } = await enrolled();
    await client.fetchKeys();
    expect((await call("POST", `/v1/admin/meters/${id}/keys/guek/rotate`)).status).toBe(201);
    const pending = await client.fetchKeys();
    expect(pending.guek).toMatchObject({ version: 2, state: "new" });
    expect(await client.acknowledge([pending.guek!])).toBe(1);
    expect(await client.uploadReading(reading)).toEqual({ invocationCounter: 1 }); // GUEK v2: a fresh counter
    expect((await call("POST", `/v1/admin/meters/${id}/keys/kek/rotate`)).status).toBe(201);
    const kek = await client.fetchKeys();
    expect(kek.kek).toMatchObject({ version: 2, state: "new" });
    expect(await client.acknowledge([kek.kek!])).toBe(1);
    const after = await client.fetchKeys(); // now wrapped under the new KEK
    expect(toHex(after.guek!.key)).toBe(toHex(pending.guek!.key));
  });

  it("runs the DLMS suite 2 profile (EDHOC suite 24, AES-256 keys)", async () => {
    const { client } = await enrolled("north-1", 2);
    const keys = await client.fetchKeys();
    expect(keys.guek!.key).toHaveLength(32);
    expect(await client.uploadReading(reading)).toEqual({ invocationCounter: 1 });
  });

  it("as a gateway, relays a meter's frame and gets no keys", async () => {
    const { client: meter, title } = await enrolled();
    const { sealGloCiphering } = await import("../../sdk");
    const keys = await meter.fetchKeys();
    const apdu = sealGloCiphering({ systemTitle: Uint8Array.from(title.match(/../g)!.map((h) => parseInt(h, 16))), securityControl: 0x31, invocationCounter: 5 }, { ek: keys.guek!.key, ak: keys.ak!.key }, reading);
    const gwKey = p256.utils.randomSecretKey();
    const gwId = unique("GW");
    const gwTitle = systemTitle();
    expect((await call("POST", "/v1/admin/gateways", { json: { id: gwId, systemTitle: gwTitle, region: "north-1", identityPublicKey: toHex(p256.getPublicKey(gwKey, false)) } })).status).toBe(201);
    const trustAnchor = await fetchTrustAnchor(BASE, workerFetch);
    const gateway = new MeterClient({ baseUrl: BASE, region: "north-1", meterId: gwId, systemTitle: gwTitle, identityKey: gwKey, trustAnchor, fetch: workerFetch });
    expect(await gateway.relayReading(await apdu)).toEqual({ invocationCounter: 5 });
    expect(((await gateway.request("keys").catch((e: unknown) => e)) as SdkError).code).toBe("gateway_forbidden");
  });
});
