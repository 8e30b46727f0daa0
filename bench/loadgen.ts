/**
 * The bench's load generator: a separate Node process (forked by bench/run.ts, pinned to its
 * own CPU) that drives simulated meters with the meter SDK, exactly as a meter would:
 * `MeterClient.connect()` (EDHOC message_1/2/3 with a ping riding on message_3), `fetchKeys()`
 * in a live session, and `rekey` one epoch behind (bench/lib/rekey-probe.ts). Commands arrive over IPC (bench/lib/loadgen-protocol.ts). Only ever
 * talks to the URL it is given (127.0.0.1).
 */
import { performance } from "node:perf_hooks";
import { nobleProvider } from "../edhoc/noble-provider.js";
import { CredentialCache, fetchTrustAnchor, MeterClient, SdkError, type TrustAnchor, trustAnchorOf, type TrustAnchorInput } from "../sdk/index.js";
import { fetchOneBehind, prepareProbe, type RekeyProbe } from "./lib/rekey-probe.js";
import type { FleetMeter, HealthResult, LoadgenCommand, LoadgenReply, MeterCostResult, ThroughputResult } from "./lib/loadgen-protocol.js";

type Ctx = {
  url: string;
  anchor: TrustAnchor;
  pool: MeterClient[];
  probes: MeterClient[];
  rekeyClients: { client: MeterClient; kek: Uint8Array }[];
  /** Set by `rekeyPrepare`: the rekey probes then fetch during every window. */
  rekeyProbes: RekeyProbe[];
  cost: MeterClient;
  costFetch: { inFetchMs: number };
};

let ctx: Ctx | undefined;

const hexBytes = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const codeOf = (e: unknown) => (e instanceof SdkError ? e.code : e instanceof Error ? `unexpected: ${e.message.slice(0, 80)}` : "unexpected");

function client(m: FleetMeter, url: string, region: string, anchor: TrustAnchorInput, cache: CredentialCache, fetchFn?: typeof fetch): MeterClient {
  return new MeterClient({
    baseUrl: url,
    region,
    meterId: m.id,
    systemTitle: m.systemTitle,
    identityKey: hexBytes(m.identityKey),
    kek: hexBytes(m.kek),
    trustAnchor: anchor,
    credentialCache: cache,
    ...(fetchFn ? { fetch: fetchFn } : {}),
  });
}

async function init(cmd: Extract<LoadgenCommand, { type: "init" }>): Promise<LoadgenReply> {
  const anchor = await fetchTrustAnchor(cmd.url);
  // One verified concentrator credential for the fleet, as a gateway or the simulator shares it;
  // the CWT check (one ES256 verification) happens once, not per handshake.
  const cache = new CredentialCache(anchor);
  const costFetch = { inFetchMs: 0 };
  /** fetch, with the time spent in it (request, server, response body) accumulated. */
  const timedFetch: typeof fetch = async (input, init) => {
    const started = performance.now();
    const res = await fetch(input, init);
    const body = await res.arrayBuffer();
    costFetch.inFetchMs += performance.now() - started;
    const empty = res.status === 204 || res.status === 205 || res.status === 304;
    return new Response(empty ? null : body, { status: res.status, headers: res.headers });
  };
  ctx = {
    url: cmd.url,
    anchor: trustAnchorOf(anchor),
    rekeyClients: cmd.rekeyProbes.map((m) => ({ client: client(m, cmd.url, cmd.region, anchor, cache), kek: hexBytes(m.kek) })),
    rekeyProbes: [],
    pool: cmd.pool.map((m) => client(m, cmd.url, cmd.region, anchor, cache)),
    probes: cmd.probes.map((m) => client(m, cmd.url, cmd.region, anchor, cache)),
    cost: client(cmd.cost, cmd.url, cmd.region, anchor, cache, timedFetch),
    costFetch,
  };
  // Probes hold live sessions (a fetchKeys also installs their keys); the cost meter warms the cache.
  await Promise.all(ctx.probes.map(async (p) => p.fetchKeys()));
  await ctx.cost.connect();
  return { type: "ready", anchorKid: anchor.kid };
}

async function throughput(c: Ctx, cmd: Extract<LoadgenCommand, { type: "throughput" }>): Promise<ThroughputResult> {
  const t0 = performance.now();
  const windowStart = t0 + cmd.warmupMs;
  const windowEnd = windowStart + cmd.windowMs;
  const handshakeMs: number[] = [];
  const keysMs: number[] = [];
  const rekeyMs: number[] = [];
  const errors: Record<string, number> = {};
  let completed = 0;
  const free = [...c.pool];
  let cpuStart = process.cpuUsage();
  let eluStart = performance.eventLoopUtilization();
  let cpuSeconds = 0;
  let elu = 0;
  const marks = [
    setTimeout(() => {
      cpuStart = process.cpuUsage();
      eluStart = performance.eventLoopUtilization();
    }, cmd.warmupMs),
    setTimeout(() => {
      const d = process.cpuUsage(cpuStart);
      cpuSeconds = (d.user + d.system) / 1e6;
      elu = performance.eventLoopUtilization(eluStart).utilization;
    }, cmd.warmupMs + cmd.windowMs),
  ];
  const meter = async () => {
    while (performance.now() < windowEnd) {
      const m = free.shift();
      if (!m) throw new Error("meter pool smaller than the concurrency");
      const started = performance.now();
      try {
        await m.close();
        await m.connect();
        const ended = performance.now();
        if (ended >= windowStart && ended <= windowEnd) {
          completed++;
          handshakeMs.push(ended - started);
        }
      } catch (e) {
        const code = codeOf(e);
        if (performance.now() >= windowStart) errors[code] = (errors[code] ?? 0) + 1;
        await sleep(5);
      } finally {
        free.push(m);
      }
    }
  };
  const probe = async (p: MeterClient) => {
    while (performance.now() < windowEnd) {
      const started = performance.now();
      try {
        const keys = await p.fetchKeys();
        for (const k of keys.all) k.key.fill(0);
        const ended = performance.now();
        if (started >= windowStart && ended <= windowEnd) keysMs.push(ended - started);
      } catch (e) {
        const code = `keys: ${codeOf(e)}`;
        if (performance.now() >= windowStart) errors[code] = (errors[code] ?? 0) + 1;
      }
      await sleep(cmd.probeIntervalMs);
    }
  };
  const rekeyProbe = async (p: RekeyProbe) => {
    while (performance.now() < windowEnd) {
      const started = performance.now();
      try {
        const ms = await fetchOneBehind(p, c.anchor);
        if (started >= windowStart && performance.now() <= windowEnd) rekeyMs.push(ms);
      } catch (e) {
        const code = `rekey: ${codeOf(e)}`;
        if (performance.now() >= windowStart) errors[code] = (errors[code] ?? 0) + 1;
      }
      await sleep(cmd.probeIntervalMs);
    }
  };
  await Promise.all([...Array.from({ length: cmd.concurrency }, meter), ...c.probes.map(probe), ...c.rekeyProbes.map(rekeyProbe)]);
  for (const m of marks) clearTimeout(m);
  return { type: "throughput", concurrency: cmd.concurrency, windowMs: cmd.windowMs, completed, handshakeMs, keysMs, rekeyMs, errors, cpuSeconds, eventLoopUtilization: elu };
}

async function health(c: Ctx, cmd: Extract<LoadgenCommand, { type: "health" }>): Promise<HealthResult> {
  const windowStart = performance.now() + cmd.warmupMs;
  const windowEnd = windowStart + cmd.windowMs;
  let completed = 0;
  let errors = 0;
  const loop = async () => {
    while (performance.now() < windowEnd) {
      try {
        const res = await fetch(`${c.url}/health`);
        await res.arrayBuffer();
        const ended = performance.now();
        if (res.ok && ended >= windowStart && ended <= windowEnd) completed++;
        if (!res.ok) errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: cmd.concurrency }, loop));
  return { type: "health", concurrency: cmd.concurrency, windowMs: cmd.windowMs, completed, errors };
}

async function replica(cmd: Extract<LoadgenCommand, { type: "replica" }>): Promise<HealthResult> {
  const windowStart = performance.now() + cmd.warmupMs;
  const windowEnd = windowStart + cmd.windowMs;
  let completed = 0;
  let errors = 0;
  let i = 0;
  const loop = async () => {
    while (performance.now() < windowEnd) {
      try {
        const first = await fetch(`${cmd.url}/concentrator/1`, { method: "POST" });
        const { token } = (await first.json()) as { token: number };
        const third = await fetch(`${cmd.url}/concentrator/3?token=${token}&i=${i++}`, { method: "POST" });
        await third.arrayBuffer();
        const ended = performance.now();
        if (first.ok && third.ok && ended >= windowStart && ended <= windowEnd) completed++;
        if (!first.ok || !third.ok) errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: cmd.concurrency }, loop));
  return { type: "replica", concurrency: cmd.concurrency, windowMs: cmd.windowMs, completed, errors };
}

async function meterCost(c: Ctx, cmd: Extract<LoadgenCommand, { type: "meterCost" }>): Promise<MeterCostResult> {
  const clientMs: number[] = [];
  const totalMs: number[] = [];
  let cpu = process.cpuUsage();
  for (let i = 0; i < cmd.warmup + cmd.handshakes; i++) {
    if (i === cmd.warmup) cpu = process.cpuUsage();
    await c.cost.close();
    c.costFetch.inFetchMs = 0;
    const started = performance.now();
    await c.cost.connect();
    const total = performance.now() - started;
    if (i >= cmd.warmup) {
      totalMs.push(total);
      clientMs.push(total - c.costFetch.inFetchMs);
    }
  }
  const d = process.cpuUsage(cpu);
  // The SDK's ECDH alone (noble, variable-base scalar multiplication): three per handshake.
  const own = await nobleProvider.generateKeyPair("P-256");
  const peer = (await nobleProvider.generateKeyPair("P-256")).publicKey;
  const ecdh: number[] = [];
  for (let i = 0; i < 5 + Math.max(5, cmd.handshakes); i++) {
    const started = performance.now();
    await nobleProvider.ecdh("P-256", own.privateKey, peer);
    if (i >= 5) ecdh.push(performance.now() - started);
  }
  ecdh.sort((a, b) => a - b);
  return { type: "meterCost", clientMs, totalMs, processCpuMs: (d.user + d.system) / 1000 / Math.max(1, cmd.handshakes), ecdhMs: ecdh[Math.floor(ecdh.length / 2)]! };
}

async function handle(cmd: LoadgenCommand): Promise<LoadgenReply | undefined> {
  if (cmd.type === "exit") {
    process.disconnect?.();
    return undefined;
  }
  if (cmd.type === "init") return init(cmd);
  if (cmd.type === "replica") return replica(cmd);
  if (!ctx) throw new Error("init first");
  if (cmd.type === "throughput") return throughput(ctx, cmd);
  if (cmd.type === "health") return health(ctx, cmd);
  if (cmd.type === "rekeyPrepare") {
    const c = ctx;
    c.rekeyProbes = await Promise.all(c.rekeyClients.map((r) => prepareProbe(r.client, r.kek, cmd.program, c.anchor)));
    return { type: "rekeyReady", epochs: c.rekeyProbes.map((p) => p.epoch), leaves: c.rekeyProbes.map((p) => p.leaf) };
  }
  return meterCost(ctx, cmd);
}

if (!process.send) {
  process.stderr.write("bench/loadgen.ts is started by bench/run.ts (IPC), not directly\n");
  process.exit(2);
}

process.on("message", (cmd: LoadgenCommand) => {
  handle(cmd).then(
    (reply) => reply && process.send!(reply),
    (e: unknown) => process.send!({ type: "error", message: e instanceof SdkError ? `${e.code}: ${e.message}` : e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies LoadgenReply),
  );
});
process.on("disconnect", () => process.exit(0));
