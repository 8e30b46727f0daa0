import { GridkeyError } from "./errors";

/**
 * Edge rate limits (docs/protocol.md §6.1): token buckets kept by each region's
 * concentrator, which already serialises that region's meters, so a bucket is exact (no
 * race between isolates) and costs a Map lookup. Two kinds:
 * - per meter: charged for each authenticated session request (after its MAC checked, so
 *   nobody can drain another meter's bucket by sending records under its connection id);
 * - per address (CF-Connecting-IP): charged for every EDHOC and session POST before any
 *   parsing or crypto, so one noisy gateway's flood is refused at the cost of a lookup.
 * Configured with `rate/burst` strings (requests per second, bucket size) or `off`.
 */
export type RateLimit = { perSecond: number; burst: number };

export const DEFAULT_METER_LIMIT = "10/50";
export const DEFAULT_ADDRESS_LIMIT = "200/1000";
/** Buckets kept per concentrator; the least recently used go first (a forgotten key starts full). */
const MAX_BUCKETS = 50_000;

/** `"10/50"` → 10 per second, bursts of 50; `"off"` → no limit. Anything else is a config error. */
export function parseRateLimit(value: string | undefined, fallback: string): RateLimit | undefined {
  const text = (value ?? fallback).trim();
  if (text === "off") return undefined;
  const match = /^(\d+(?:\.\d+)?)\/(\d+)$/.exec(text);
  const perSecond = Number(match?.[1]);
  const burst = Number(match?.[2]);
  if (!match || !(perSecond > 0) || !(burst >= 1)) throw new GridkeyError("internal", `a rate limit is "<per second>/<burst>" or "off", not "${text}"`);
  return { perSecond, burst };
}

type Bucket = { tokens: number; at: number };

/** One limit over many keys. `take` answers undefined (admitted) or the seconds to wait. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: RateLimit | undefined,
    private readonly maxBuckets = MAX_BUCKETS,
  ) {}

  take(key: string, now = Date.now()): number | undefined {
    const limit = this.limit;
    if (!limit) return undefined;
    const old = this.buckets.get(key);
    const elapsed = old ? Math.max(0, now - old.at) / 1000 : 0;
    const bucket = { tokens: old ? Math.min(limit.burst, old.tokens + elapsed * limit.perSecond) : limit.burst, at: now };
    this.buckets.delete(key); // re-inserted last: Map order is then least recently used first
    this.buckets.set(key, bucket);
    while (this.buckets.size > this.maxBuckets) this.buckets.delete(this.buckets.keys().next().value!);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond));
  }
}

/**
 * Keeps a flood out of the audit log: the first refusal of a key in each window is recorded,
 * with how many refusals of that key went unrecorded since the previous record.
 */
export class RefusalSampler {
  private readonly seen = new Map<string, { auditedAt: number; unrecorded: number }>();

  constructor(
    private readonly windowMs = 60_000,
    private readonly maxKeys = MAX_BUCKETS,
  ) {}

  /** undefined: count it only; a number: audit now, naming that many earlier unrecorded refusals. */
  record(key: string, now = Date.now()): number | undefined {
    const s = this.seen.get(key);
    if (s && now - s.auditedAt < this.windowMs) {
      s.unrecorded++;
      return undefined;
    }
    this.seen.delete(key);
    this.seen.set(key, { auditedAt: now, unrecorded: 0 });
    while (this.seen.size > this.maxKeys) this.seen.delete(this.seen.keys().next().value!);
    return s?.unrecorded ?? 0;
  }
}

/** A concentrator's two limits, from the worker's vars (EDGE_RATE_LIMIT_METER, EDGE_RATE_LIMIT_ADDRESS). */
export class EdgeLimiter {
  readonly meters: TokenBuckets;
  readonly addresses: TokenBuckets;
  readonly refusals = new RefusalSampler();

  constructor(vars: { EDGE_RATE_LIMIT_METER?: string; EDGE_RATE_LIMIT_ADDRESS?: string }) {
    this.meters = new TokenBuckets(parseRateLimit(vars.EDGE_RATE_LIMIT_METER, DEFAULT_METER_LIMIT));
    this.addresses = new TokenBuckets(parseRateLimit(vars.EDGE_RATE_LIMIT_ADDRESS, DEFAULT_ADDRESS_LIMIT));
  }
}
