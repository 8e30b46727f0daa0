// Meter files for the CLI's bulk import tests (and the 10^5 measurement in docs/cli.md):
// valid identities, unique ids and system titles, gridkey-generated keys. Node side only.
import { p256 } from "@noble/curves/nist.js";
import { randomBytes } from "node:crypto";

export type FleetMeter = { id: string; systemTitle: string; region: string; suite: 1; identityPublicKey: string };

/** `count` meters with ids `${prefix}-000001`..., random system titles, real P-256 identity keys. */
export function fleet(prefix: string, count: number, region: string): FleetMeter[] {
  const titleBase = randomBytes(4).toString("hex").toUpperCase();
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${String(i + 1).padStart(6, "0")}`,
    systemTitle: `${titleBase}${i.toString(16).toUpperCase().padStart(8, "0")}`,
    region,
    suite: 1,
    identityPublicKey: Buffer.from(p256.getPublicKey(p256.utils.randomSecretKey(), false)).toString("hex"),
  }));
}

export const toNdjson = (meters: FleetMeter[]) => meters.map((m) => JSON.stringify(m)).join("\n") + "\n";

export const toCsv = (meters: FleetMeter[]) =>
  ["id,systemTitle,region,suite,identityPublicKey", ...meters.map((m) => `${m.id},${m.systemTitle},${m.region},${m.suite},${m.identityPublicKey}`)].join("\n") + "\n";
