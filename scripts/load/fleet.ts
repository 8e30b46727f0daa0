/**
 * The simulated fleet: N meters over several regions, enrolled in bulk as a manufacturer
 * hands them over (identity public key, KEK wrapped under a transport key imported for the
 * run), each driven by its own SDK MeterClient. What each meter was given and holds is kept
 * here, so the end of the run can compare it with what the service says.
 */
import { aeskw } from "@noble/ciphers/aes.js";
import { p256 } from "@noble/curves/nist.js";
import { bytesToHex, randomBytes } from "@noble/hashes/utils.js";
import { type CredentialCache, type FetchedKeys, type InvocationCounterStore, MeterClient, type TrustAnchorInput } from "../../sdk/index.js";
import type { AdminApi } from "./admin.js";

/** The bulk route takes 20,000 lines a call; smaller calls keep each request short. */
const BULK_BATCH = 5_000;

export type LoadMeter = {
  index: number;
  id: string;
  region: string;
  systemTitle: string;
  identityKey: Uint8Array;
  kek: Uint8Array;
  client: MeterClient;
  counters: CounterLedger;
  /** `class → keyId#version:key hex` of the unicast keys the meter installed (after its ack). */
  held: Map<string, string>;
  online: boolean;
};

/**
 * The meter's DLMS invocation counters (its InvocationCounterStore), with a ledger of what
 * was sent so the end of the run can check that the server recorded exactly those, in order.
 */
export class CounterLedger implements InvocationCounterStore {
  private readonly last = new Map<string, number>();
  /** Set by the replay check: the next counter repeats the last one used. */
  replayOnce = false;

  next(keyId: string, version: number): number {
    const id = `${keyId}#${version}`;
    const previous = this.last.get(id) ?? 0;
    if (this.replayOnce && previous > 0) {
      this.replayOnce = false;
      return previous;
    }
    this.last.set(id, previous + 1);
    return previous + 1;
  }

  lastSent(keyId: string, version: number): number {
    return this.last.get(`${keyId}#${version}`) ?? 0;
  }
}

export function regionNames(runId: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `load-${runId}-${i + 1}`);
}

export function makeFleet(n: number, regions: string[], runId: string, url: string, anchor: TrustAnchorInput, cache: CredentialCache): LoadMeter[] {
  const width = String(n).length;
  return Array.from({ length: n }, (_, index) => {
    const id = `LOAD-${runId}-${String(index + 1).padStart(width, "0")}`;
    const region = regions[index % regions.length]!;
    const systemTitle = bytesToHex(randomBytes(8));
    const identityKey = p256.utils.randomSecretKey();
    const kek = randomBytes(16);
    const counters = new CounterLedger();
    const client = new MeterClient({ baseUrl: url, region, meterId: id, systemTitle, identityKey, kek, trustAnchor: anchor, credentialCache: cache, invocationCounters: counters });
    return { index, id, region, systemTitle, identityKey, kek, client, counters, held: new Map(), online: false };
  });
}

/** Bulk-enrolls the fleet (NDJSON), a region's meters together, in calls of BULK_BATCH lines. */
export async function enrollFleet(api: AdminApi, fleet: LoadMeter[], runId: string, log: (line: string) => void): Promise<void> {
  const transportKey = randomBytes(16);
  const imported = await api.post("/transport-keys", { name: `load-${runId}`, purpose: "manufacturer", key: bytesToHex(transportKey) });
  const transportKeyId = String(imported.id);
  const byRegion = [...fleet].sort((a, b) => a.region.localeCompare(b.region) || a.index - b.index);
  for (let at = 0; at < byRegion.length; at += BULK_BATCH) {
    const batch = byRegion.slice(at, at + BULK_BATCH);
    const body = batch.map((m) => enrollmentLine(m, transportKeyId, transportKey)).join("\n");
    const result = await api.post("/meters/bulk", body, "application/x-ndjson");
    if (result.enrolled !== batch.length) throw new Error(`bulk enrollment enrolled ${String(result.enrolled)} of ${batch.length}`);
    log(`enrolled ${at + batch.length}/${fleet.length}`);
  }
  transportKey.fill(0);
}

function enrollmentLine(m: LoadMeter, transportKeyId: string, transportKey: Uint8Array): string {
  return JSON.stringify({
    id: m.id,
    systemTitle: m.systemTitle,
    region: m.region,
    suite: 1,
    identityPublicKey: bytesToHex(p256.getPublicKey(m.identityKey, false)),
    manufacturerKeys: { transportKeyId, kek: bytesToHex(aeskw(transportKey).encrypt(m.kek)) },
  });
}

/** The newest key of each class, as `keyId#version:key hex`; nothing of the bytes leaves this map. */
export function keyFingerprints(keys: FetchedKeys): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of keys.all) {
    if (keys[k.keyClass] === k) out.set(k.keyClass, `${k.keyId}#${k.version}:${bytesToHex(k.key)}`);
  }
  return out;
}
