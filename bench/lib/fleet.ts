/**
 * The bench's meters, enrolled the way a manufacturer hands them over (as scripts/simulate.ts
 * does): an identity key made "in the meter", a random KEK imported wrapped (RFC 3394) under
 * a transport key imported for this run, all in bulk NDJSON (POST /v1/admin/meters/bulk).
 */
import { aeskw } from "@noble/ciphers/aes.js";
import { p256 } from "@noble/curves/nist.js";
import { randomBytes } from "node:crypto";
import type { FleetMeter } from "./loadgen-protocol.js";

const BULK_BATCH = 5_000;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export function makeFleet(n: number, prefix: string): FleetMeter[] {
  const width = String(n).length;
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${String(i + 1).padStart(width, "0")}`,
    systemTitle: hex(randomBytes(8)).toUpperCase(),
    identityKey: hex(p256.utils.randomSecretKey()),
    kek: hex(randomBytes(16)),
  }));
}

async function adminPost(url: string, token: string, path: string, contentType: string, body: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/v1/admin${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": contentType }, body });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new Error(`POST /v1/admin${path}: HTTP ${res.status} ${JSON.stringify(json).slice(0, 500)}`);
  return json;
}

export async function enroll(url: string, token: string, region: string, fleet: FleetMeter[]): Promise<void> {
  const transportKey = randomBytes(16);
  const imported = await adminPost(url, token, "/transport-keys", "application/json", JSON.stringify({ name: `bench-${hex(randomBytes(3))}`, purpose: "manufacturer", key: hex(transportKey) }));
  const transportKeyId = String(imported.id);
  for (let at = 0; at < fleet.length; at += BULK_BATCH) {
    const batch = fleet.slice(at, at + BULK_BATCH);
    const body = batch
      .map((m) =>
        JSON.stringify({
          id: m.id,
          systemTitle: m.systemTitle,
          region,
          suite: 1,
          identityPublicKey: hex(p256.getPublicKey(Buffer.from(m.identityKey, "hex"), false)),
          manufacturerKeys: { transportKeyId, kek: hex(aeskw(transportKey).encrypt(Buffer.from(m.kek, "hex"))) },
        }),
      )
      .join("\n");
    const result = await adminPost(url, token, "/meters/bulk", "application/x-ndjson", body);
    if (result.enrolled !== batch.length) throw new Error(`bulk enrollment enrolled ${String(result.enrolled)} of ${batch.length}`);
  }
  transportKey.fill(0);
}
