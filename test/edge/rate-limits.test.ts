// The token buckets and the audit sampler behind the edge rate limits (functions/rate-limits.ts),
// on a fake clock. The limits under load, end to end, are in test/e2e/rate-limits.e2e.test.ts.
import { describe, expect, it } from "vitest";
import { parseRateLimit, RefusalSampler, TokenBuckets } from "../../functions/rate-limits";

describe("edge rate limits", () => {
  it("parses <per second>/<burst> and off, and refuses anything else", () => {
    expect(parseRateLimit("10/50", "1/1")).toEqual({ perSecond: 10, burst: 50 });
    expect(parseRateLimit("0.5/3", "1/1")).toEqual({ perSecond: 0.5, burst: 3 });
    expect(parseRateLimit(undefined, "2/4")).toEqual({ perSecond: 2, burst: 4 });
    expect(parseRateLimit("off", "2/4")).toBeUndefined();
    for (const bad of ["", "10", "0/5", "10/0", "-1/5", "ten/5", "10/5/1"]) expect(() => parseRateLimit(bad, "1/1")).toThrow(/rate limit/);
  });

  it("admits a burst, then refuses with the seconds until a token is back, and refills at the rate", () => {
    const b = new TokenBuckets({ perSecond: 2, burst: 3 });
    const t0 = 1_000_000;
    expect([b.take("m", t0), b.take("m", t0), b.take("m", t0)]).toEqual([undefined, undefined, undefined]);
    expect(b.take("m", t0)).toBe(1);
    expect(b.take("other", t0)).toBeUndefined(); // one key's bucket is its own
    expect(b.take("m", t0 + 499)).toBe(1); // 0.998 tokens: not yet
    expect(b.take("m", t0 + 1_000)).toBeUndefined(); // refilled to 2, took 1
    expect(b.take("m", t0 + 1_000)).toBeUndefined();
    expect(b.take("m", t0 + 1_000)).toBe(1);
    expect(b.take("m", t0 + 60_000)).toBeUndefined(); // capped at the burst, not 120 tokens
    expect([b.take("m", t0 + 60_000), b.take("m", t0 + 60_000), b.take("m", t0 + 60_000)]).toEqual([undefined, undefined, 1]);
    const slow = new TokenBuckets({ perSecond: 0.1, burst: 1 });
    slow.take("k", t0);
    expect(slow.take("k", t0)).toBe(10);
  });

  it("never limits when off, and forgets the least recently used keys past its bound", () => {
    const off = new TokenBuckets(undefined);
    for (let i = 0; i < 100; i++) expect(off.take("k")).toBeUndefined();
    const b = new TokenBuckets({ perSecond: 1, burst: 1 }, 2);
    b.take("a", 0);
    b.take("b", 0);
    b.take("a", 0); // a is used again: b is now the oldest
    b.take("c", 0); // evicts b
    expect(b.take("a", 0)).toBe(1);
    expect(b.take("b", 0)).toBeUndefined(); // forgotten: starts full
  });

  it("samples refusals: one audit per key and window, naming the refusals it did not record", () => {
    const s = new RefusalSampler(60_000);
    expect(s.record("meter:M", 0)).toBe(0);
    for (let i = 1; i <= 500; i++) expect(s.record("meter:M", i)).toBeUndefined();
    expect(s.record("address:1.2.3.4", 10)).toBe(0);
    expect(s.record("meter:M", 60_000)).toBe(500);
    expect(s.record("meter:M", 60_001)).toBeUndefined();
  });
});
