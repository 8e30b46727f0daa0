// Black-box: the edge rate limits (docs/protocol.md §6.1) under `wrangler dev`, with low
// limits set through the worker's vars. A noisy meter, or a noisy address, is refused with
// 429 rate_limited and Retry-After, while another meter of the same region is still served,
// and the refusals are audited as one sampled record per key, not one per refusal.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { p256 } from "@noble/curves/nist.js";
import { aeskw } from "@noble/ciphers/aes.js";
import { randomBytes } from "node:crypto";
import { MeterClient, SdkError, fetchTrustAnchor } from "../../sdk/index";
import { type DevServer, startDevServer } from "./wrangler-dev";

let server: DevServer;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const REGION = "rl-1";

async function admin(method: string, path: string, json?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, ...(json ? { "content-type": "application/json" } : {}) },
    body: json ? JSON.stringify(json) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** A meter enrolled in REGION; `address` (CF-Connecting-IP) lets the test act as several hosts. */
async function enrollMeter(address?: string) {
  const identityKey = p256.utils.randomSecretKey();
  const kek = new Uint8Array(randomBytes(16));
  const transport = new Uint8Array(randomBytes(16));
  const tk = await admin("POST", "/v1/admin/transport-keys", { name: `mfr-${hex(randomBytes(4))}`, purpose: "manufacturer", key: hex(transport) });
  const id = `RL-${hex(randomBytes(4))}`;
  const systemTitle = hex(randomBytes(8)).toUpperCase();
  const res = await admin("POST", "/v1/admin/meters", {
    id,
    systemTitle,
    region: REGION,
    suite: 1,
    identityPublicKey: hex(p256.getPublicKey(identityKey, false)),
    manufacturerKeys: { transportKeyId: tk.body.id, kek: hex(aeskw(transport).encrypt(kek)) },
  });
  expect(res.status).toBe(201);
  const trustAnchor = await fetchTrustAnchor(server.url);
  const fetchFrom = (input: string, init?: RequestInit) => fetch(input, address ? { ...init, headers: { ...(init?.headers as Record<string, string>), "cf-connecting-ip": address } } : init);
  const client = () => new MeterClient({ baseUrl: server.url, region: REGION, meterId: id, systemTitle, identityKey, kek, trustAnchor, fetch: fetchFrom });
  return { id, client };
}

async function rateLimitRecords(): Promise<{ targetId: string; details: { limit: string; address?: string; unrecorded: number } }[]> {
  const out = [];
  let after = 0;
  for (;;) {
    const page = await admin("GET", `/v1/admin/audit?after=${after}&limit=1000`);
    out.push(...page.body.records.filter((r: any) => r.action === "edge.refused" && r.details.code === "rate_limited"));
    if (page.body.next === null) return out;
    after = page.body.next;
  }
}

beforeAll(async () => {
  server = await startDevServer({ EDGE_RATE_LIMIT_METER: "2/10", EDGE_RATE_LIMIT_ADDRESS: "2/100" });
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

describe("edge rate limits", () => {
  it("refuses a noisy meter with 429 while another meter of its region is served, and audits a sample", async () => {
    const noisy = await enrollMeter("192.0.2.1");
    const quiet = await enrollMeter("192.0.2.2");
    // Four sessions of the noisy meter hammer pings at once: one bucket for the meter, whatever the session.
    const codes = new Map<string, number>();
    let retryAfterSeen = false;
    const hammer = async () => {
      const c = noisy.client();
      for (let i = 0; i < 15; i++) {
        try {
          await c.request("ping");
          codes.set("ok", (codes.get("ok") ?? 0) + 1);
        } catch (e) {
          if (!(e instanceof SdkError)) throw e;
          codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
          if (e.code === "rate_limited") retryAfterSeen ||= e.status === 429;
        }
      }
    };
    const flood = Promise.all([hammer(), hammer(), hammer(), hammer()]);
    const started = performance.now();
    const q = quiet.client();
    await q.connect();
    const keys = await q.fetchKeys();
    const fresh = keys.all.filter((k) => k.state === "new");
    if (fresh.length > 0) await q.acknowledge(fresh);
    const reading = new Uint8Array([0x0f, 0, 0, 0, 1, 0x02, 0x03, 0x09, 0x06, 1, 0, 1, 8, 0, 0xff, 0x06, 0, 0, 0x12, 0x34]);
    expect((await q.uploadReading(reading)).invocationCounter).toBe(1);
    const quietMs = performance.now() - started;
    await flood;
    // 60 requests against a bucket of 10 refilled at 2/s: most are refused, and only as rate_limited.
    expect(codes.get("rate_limited") ?? 0).toBeGreaterThan(20);
    expect((codes.get("ok") ?? 0) + (codes.get("rate_limited") ?? 0)).toBe(60);
    expect(retryAfterSeen).toBe(true);
    expect(quietMs).toBeLessThan(15_000);
    // One audit record for the noisy meter (a minute's window), not one per refusal.
    const records = (await rateLimitRecords()).filter((r) => r.targetId === noisy.id);
    expect(records).toHaveLength(1);
    expect(records[0]!.details.limit).toBe("meter");
    expect((await admin("GET", "/v1/admin/audit/verify")).body.ok).toBe(true);
  });

  it("refuses a noisy address before any crypto, with Retry-After, while another address is served", async () => {
    const url = `${server.url}/.well-known/edhoc?region=${REGION}`;
    const junk = (address: string) =>
      fetch(url, { method: "POST", headers: { "content-type": "application/cid-edhoc+cbor-seq", "cf-connecting-ip": address }, body: new Uint8Array([0xf5, 0x00]) });
    const other = await enrollMeter("198.51.100.8");
    let retryAfter: string | null = null;
    // 150 at once against a bucket of 100 refilled at 2/s.
    const statuses = await Promise.all(
      Array.from({ length: 150 }, async () => {
        const res = await junk("198.51.100.7");
        if (res.status === 429) {
          retryAfter = res.headers.get("retry-after");
          expect(((await res.json()) as any).error.code).toBe("rate_limited");
        } else await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(30);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // Right after, another host's meter of the same region is served, while the noisy host is still refused.
    const c = other.client();
    await c.connect();
    expect((await c.fetchKeys()).guek?.key).toHaveLength(16);
    const after = await Promise.all(Array.from({ length: 10 }, () => junk("198.51.100.7").then((r) => r.status)));
    expect(after.filter((s) => s === 429).length).toBeGreaterThan(0);
    const records = (await rateLimitRecords()).filter((r) => r.details.limit === "address" && r.details.address === "198.51.100.7");
    expect(records).toHaveLength(1);
    expect(records[0]!.targetId).toBe(REGION);
  });
});
