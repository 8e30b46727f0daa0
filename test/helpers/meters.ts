import { toHex } from "../../functions/crypto";
import { unique } from "./http";

let titleCounter = Math.floor(Math.random() * 2 ** 40);

export function systemTitle(): string {
  return (titleCounter++).toString(16).toUpperCase().padStart(16, "0");
}

export async function publicKey(curve: "P-256" | "P-384" = "P-256", format: "raw" | "spki" = "raw"): Promise<string> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: curve }, true, ["deriveBits"])) as CryptoKeyPair;
  return toHex(new Uint8Array((await crypto.subtle.exportKey(format, pair.publicKey)) as ArrayBuffer));
}

export async function meterInput(overrides: Record<string, unknown> = {}) {
  const suite = (overrides.suite as number | undefined) ?? 1;
  return {
    id: unique("MTR"),
    systemTitle: systemTitle(),
    region: "north-1",
    suite,
    identityPublicKey: await publicKey(suite === 2 ? "P-384" : "P-256"),
    ...overrides,
  };
}
