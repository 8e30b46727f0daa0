// Black-box: gridkey under `wrangler dev`, driven over real HTTP by a meter built from the
// SDK and by an operator's plain HTTP calls. Nothing here reaches into the worker.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { p256 } from "@noble/curves/nist.js";
import { aeskw } from "@noble/ciphers/aes.js";
import { randomBytes } from "node:crypto";
import { MeterClient, SdkError, fetchTrustAnchor } from "../../sdk/index";
import { type DevServer, startDevServer } from "./wrangler-dev";

let server: DevServer;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

async function admin(method: string, path: string, json?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, ...(json ? { "content-type": "application/json" } : {}) },
    body: json ? JSON.stringify(json) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function enrollMeter(region: string) {
  const identityKey = p256.utils.randomSecretKey();
  const kek = new Uint8Array(randomBytes(16));
  const transport = new Uint8Array(randomBytes(16));
  const tk = await admin("POST", "/v1/admin/transport-keys", { name: `mfr-${hex(randomBytes(4))}`, purpose: "manufacturer", key: hex(transport) });
  const id = `E2E-${hex(randomBytes(4))}`;
  const systemTitle = hex(randomBytes(8)).toUpperCase();
  const res = await admin("POST", "/v1/admin/meters", {
    id,
    systemTitle,
    region,
    suite: 1,
    identityPublicKey: hex(p256.getPublicKey(identityKey, false)),
    manufacturerKeys: { transportKeyId: tk.body.id, kek: hex(aeskw(transport).encrypt(kek)) },
  });
  expect(res.status).toBe(201);
  const trustAnchor = await fetchTrustAnchor(server.url);
  return { id, client: new MeterClient({ baseUrl: server.url, region, meterId: id, systemTitle, identityKey, kek, trustAnchor }) };
}

beforeAll(async () => {
  server = await startDevServer();
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

describe("a meter against gridkey under wrangler dev", () => {
  it("enrolls, completes EDHOC, receives its keys, uploads readings, survives a restart, and is refused after revocation", async () => {
    const { id, client } = await enrollMeter("e2e-1");
    await client.connect();
    const keys = await client.fetchKeys();
    expect(keys.guek?.key).toHaveLength(16);
    expect(keys.ak?.key).toHaveLength(16);
    expect(keys.gbek?.key).toHaveLength(16);

    const reading = new Uint8Array([0x0f, 0, 0, 0, 1, 0x02, 0x03, 0x09, 0x06, 1, 0, 1, 8, 0, 0xff, 0x06, 0, 0, 0x12, 0x34]);
    const first = await client.uploadReading(reading);
    expect(first.invocationCounter).toBe(1);

    await server.restart(); // the concentrator and everything else start over from storage

    const second = await client.uploadReading(reading);
    expect(second.invocationCounter).toBe(2);

    const revoked = await admin("POST", `/v1/admin/meters/${id}/revoke`, { reason: "e2e" });
    expect(revoked.body.state).toBe("revoked");
    const refused = await client.uploadReading(reading).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SdkError);
    expect(["unknown_session", "meter_revoked"]).toContain((refused as SdkError).code);
    await client.close();
    const again = await client.connect().catch((e: unknown) => e);
    expect((again as SdkError).code).toBe("meter_revoked");

    const audit = await admin("GET", "/v1/admin/audit/verify");
    expect(audit.body.ok).toBe(true);
  }, 120_000);
});
