/**
 * `npm run simulate -- --meters N --region R [--url http://localhost:8787] [--concurrency 8]`
 *
 * A fleet of simulated meters against a running gridkey (docs/sdk.md): it enrolls N fresh
 * meters through the operator API, as a manufacturer would hand them over (identity public
 * key, and a KEK wrapped under a transport key imported for this run), then drives each one
 * with the SDK's MeterClient: EDHOC, fetch its keys, upload one DLMS-protected reading, close.
 * The admin token comes from GRIDKEY_TOKEN, else BOOTSTRAP_TOKEN in ./.dev.vars (never from
 * the command line, where it would land in shell history and `ps`).
 *
 * Exit status: 0 all meters succeeded, 1 some meter failed, 2 bad usage or setup failure.
 */
import { aeskw } from "@noble/ciphers/aes.js";
import { p256 } from "@noble/curves/nist.js";
import { bytesToHex, randomBytes } from "@noble/hashes/utils.js";
import { adminToken, parseFlags, UsageError } from "./script-args.js";
import { CredentialCache, fetchTrustAnchor, MeterClient, SdkError, type TrustAnchorInput } from "../sdk/index.js";
import { dataNotification } from "./load/dlms-reading.js";

const USAGE = "usage: npm run simulate -- --meters N --region R [--url http://localhost:8787] [--concurrency 8]";
const BULK_BATCH = 5_000;
const MAX_METERS = 1_000_000;
const REGION = /^[a-z0-9][a-z0-9-]{0,31}$/;

type Options = { meters: number; region: string; url: string; concurrency: number };
type SimMeter = { id: string; systemTitle: string; identityKey: Uint8Array; kek: Uint8Array };
type Tally = {
  done: number;
  failed: number;
  handshakesOk: number;
  handshakesFailed: number;
  readingsAccepted: number;
  handshakeMs: number[];
  errors: Map<string, number>;
};

// ---------------------------------------------------------------------------------------
// Setup: options, token, admin API
// ---------------------------------------------------------------------------------------

function options(argv: string[]): Options {
  const values = parseFlags(argv, USAGE, ["meters", "region", "url", "concurrency"]);
  const meters = Number(values.get("meters"));
  const concurrency = Number(values.get("concurrency") ?? "8");
  const region = values.get("region") ?? "";
  if (!Number.isInteger(meters) || meters < 1 || meters > MAX_METERS) throw new UsageError(`--meters must be 1..${MAX_METERS}\n${USAGE}`);
  if (!REGION.test(region)) throw new UsageError(`--region must be 1-32 of a-z 0-9 -\n${USAGE}`);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new UsageError(`--concurrency must be 1..256\n${USAGE}`);
  const url = (values.get("url") ?? "http://localhost:8787").replace(/\/+$/, "");
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must be http(s)://...\n${USAGE}`);
  return { meters, region, url, concurrency };
}

class AdminApi {
  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  async post(path: string, contentType: string, body: string): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(`${this.url}/v1/admin${path}`, { method: "POST", headers: { authorization: `Bearer ${this.token}`, "content-type": contentType }, body });
    } catch (e) {
      throw new Error(`cannot reach ${this.url} (${e instanceof Error ? e.message : String(e)}): is gridkey running?`);
    }
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw new Error(`POST /v1/admin${path}: HTTP ${res.status} ${describeApiError(json)}`);
    return json;
  }
}

/** `code: message`, plus the first few bad lines of a refused bulk enrollment. */
function describeApiError(body: Record<string, unknown>): string {
  const error = body.error as { code?: string; message?: string; details?: { errors?: unknown[] } } | undefined;
  if (!error) return "";
  const lines = (error.details?.errors ?? []).slice(0, 5).map((e) => `\n  ${JSON.stringify(e)}`);
  return `${error.code}: ${error.message}${lines.join("")}`;
}

// ---------------------------------------------------------------------------------------
// The fleet: make, enroll
// ---------------------------------------------------------------------------------------

function makeFleet(n: number, runId: string): SimMeter[] {
  const width = String(n).length;
  return Array.from({ length: n }, (_, i) => ({
    id: `SIM-${runId}-${String(i + 1).padStart(width, "0")}`,
    // Random 8 bytes: unique enough across runs (a collision is refused as duplicate_system_title).
    systemTitle: bytesToHex(randomBytes(8)),
    identityKey: p256.utils.randomSecretKey(),
    kek: randomBytes(16),
  }));
}

/** The manufacturer's hand-over: one NDJSON line per meter, its KEK wrapped under the transport key. */
function enrollmentLine(m: SimMeter, region: string, transportKeyId: string, transportKey: Uint8Array): string {
  return JSON.stringify({
    id: m.id,
    systemTitle: m.systemTitle,
    region,
    suite: 1,
    identityPublicKey: bytesToHex(p256.getPublicKey(m.identityKey, false)),
    manufacturerKeys: { transportKeyId, kek: bytesToHex(aeskw(transportKey).encrypt(m.kek)) },
  });
}

async function enroll(api: AdminApi, fleet: SimMeter[], region: string, runId: string): Promise<void> {
  const transportKey = randomBytes(16);
  const imported = await api.post("/transport-keys", "application/json", JSON.stringify({ name: `simulator-${runId}`, purpose: "manufacturer", key: bytesToHex(transportKey) }));
  const transportKeyId = String(imported.id);
  for (let at = 0; at < fleet.length; at += BULK_BATCH) {
    const batch = fleet.slice(at, at + BULK_BATCH);
    const body = batch.map((m) => enrollmentLine(m, region, transportKeyId, transportKey)).join("\n");
    const result = await api.post("/meters/bulk", "application/x-ndjson", body);
    if (result.enrolled !== batch.length) throw new Error(`bulk enrollment enrolled ${String(result.enrolled)} of ${batch.length}`);
    process.stderr.write(`enrolled ${at + batch.length}/${fleet.length}\n`);
  }
  transportKey.fill(0);
}

// ---------------------------------------------------------------------------------------
// One meter's life: connect, keys, one reading, close
// ---------------------------------------------------------------------------------------

async function runMeter(m: SimMeter, index: number, opts: Options, anchor: TrustAnchorInput, cache: CredentialCache, tally: Tally): Promise<void> {
  const client = new MeterClient({ baseUrl: opts.url, region: opts.region, meterId: m.id, systemTitle: m.systemTitle, identityKey: m.identityKey, kek: m.kek, trustAnchor: anchor, credentialCache: cache });
  let connected = false;
  try {
    const started = performance.now();
    await client.connect();
    tally.handshakeMs.push(performance.now() - started);
    tally.handshakesOk++;
    connected = true;
    const keys = await client.fetchKeys();
    const fresh = keys.all.filter((k) => k.state === "new");
    if (fresh.length > 0) await client.acknowledge(fresh);
    await client.uploadReading(dataNotification(index + 1, 1_000 + index, new Date()));
    tally.readingsAccepted++;
    for (const k of keys.all) k.key.fill(0);
  } catch (e) {
    if (!connected) tally.handshakesFailed++;
    tally.failed++;
    const code = e instanceof SdkError ? e.code : "unexpected";
    tally.errors.set(code, (tally.errors.get(code) ?? 0) + 1);
    if (code === "unexpected") process.stderr.write(`\n${m.id}: ${e instanceof Error ? e.message : String(e)}\n`);
  } finally {
    await client.close();
    tally.done++;
  }
}

async function drive(fleet: SimMeter[], opts: Options, anchor: TrustAnchorInput, tally: Tally): Promise<void> {
  const cache = new CredentialCache(anchor); // one verified concentrator credential for the whole fleet
  let next = 0;
  const worker = async () => {
    while (next < fleet.length) {
      const i = next++;
      await runMeter(fleet[i]!, i, opts, anchor, cache, tally);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, fleet.length) }, worker));
}

// ---------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------

function progressLine(tally: Tally, total: number, startedAt: number): string {
  const seconds = (performance.now() - startedAt) / 1000;
  const rate = seconds > 0 ? tally.done / seconds : 0;
  return `meters ${tally.done}/${total}  ${rate.toFixed(1)}/s  errors ${tally.failed}`;
}

/** Redraws one line on a terminal; elsewhere (CI logs) prints a line every few seconds. */
function startProgress(tally: Tally, total: number, startedAt: number): () => void {
  const tty = process.stderr.isTTY;
  const timer = setInterval(() => process.stderr.write(tty ? `\r${progressLine(tally, total, startedAt)}` : `${progressLine(tally, total, startedAt)}\n`), tty ? 250 : 5_000);
  return () => {
    clearInterval(timer);
    process.stderr.write(`${tty ? "\r" : ""}${progressLine(tally, total, startedAt)}\n`);
  };
}

/** Nearest-rank percentile. */
function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(opts: Options, tally: Tally, seconds: number): string {
  const sorted = [...tally.handshakeMs].sort((a, b) => a - b);
  const ms = (v: number | undefined) => (v === undefined ? "-" : `${v.toFixed(1)} ms`);
  const errors = [...tally.errors].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ×${n}`);
  const rows: [string, string][] = [
    ["meters", String(opts.meters)],
    ["handshakes ok", String(tally.handshakesOk)],
    ["handshakes failed", String(tally.handshakesFailed)],
    ["handshake p50", ms(percentile(sorted, 50))],
    ["handshake p99", ms(percentile(sorted, 99))],
    ["readings accepted", String(tally.readingsAccepted)],
    ["elapsed", `${seconds.toFixed(1)} s (${(tally.done / Math.max(seconds, 1e-9)).toFixed(1)} meters/s)`],
    ["error codes", errors.length > 0 ? errors.join(", ") : "none"],
  ];
  return [`gridkey simulator: region ${opts.region} at ${opts.url}`, ...rows.map(([k, v]) => `  ${k.padEnd(18)} ${v}`)].join("\n");
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const opts = options(process.argv.slice(2));
  const api = new AdminApi(opts.url, adminToken("no admin token: set GRIDKEY_TOKEN, or run from the project folder after `npm start` wrote .dev.vars"));
  const runId = bytesToHex(randomBytes(3));
  const anchor = await fetchTrustAnchor(opts.url).catch((e: unknown) => {
    if (e instanceof SdkError && e.code === "network_error") throw new Error(`cannot reach ${opts.url}: is gridkey running?`);
    throw e;
  });
  process.stderr.write(`run ${runId}: ${opts.meters} meters in region ${opts.region}, trust anchor kid ${anchor.kid}\n`);
  const fleet = makeFleet(opts.meters, runId);
  await enroll(api, fleet, opts.region, runId);
  const tally: Tally = { done: 0, failed: 0, handshakesOk: 0, handshakesFailed: 0, readingsAccepted: 0, handshakeMs: [], errors: new Map() };
  const startedAt = performance.now();
  const stop = startProgress(tally, fleet.length, startedAt);
  await drive(fleet, opts, anchor, tally);
  stop();
  console.log(summary(opts, tally, (performance.now() - startedAt) / 1000));
  return tally.failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const message = e instanceof SdkError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
    process.stderr.write(`${e instanceof UsageError ? "" : "simulate: "}${message}\n`);
    process.exit(2);
  },
);
