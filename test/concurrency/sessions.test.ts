import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CborMap } from "../../edhoc/cbor";
import { toHex } from "../../functions/crypto";
import { webCryptoSessionAead } from "../../functions/session-aead";
import { sealRequest } from "../../wire/session-record";
import { TestMeter } from "../helpers/test-meter";

const stubOf = (region: string) => env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(region));
const storedCounter = (region: string, m: TestMeter) =>
  runInDurableObject(stubOf(region), async (_i, state) => (await state.storage.get<{ lastCounter: number }>(`s:${toHex(m.connectionId!)}`))!.lastCounter);
const seal = (m: TestMeter, counter: number) => sealRequest(webCryptoSessionAead, m.keys!, m.connectionId!, counter, { op: "ping", args: new CborMap() });
/** A second handle on the same meter (same identity and KEK), for a second session of its own. */
const twin = (m: TestMeter): TestMeter => Object.assign(Object.create(Object.getPrototypeOf(m)) as TestMeter, m, { connectionId: undefined, keys: undefined, counter: 0 });

describe("one session, requests at once", () => {
  it("serves a record sent many times at once exactly once, also when the session is loaded from storage", async () => {
    const meter = await TestMeter.enroll("conc-s1");
    await meter.connect();
    for (const evict of [false, true]) {
      const counter = ++meter.counter;
      const record = await seal(meter, counter);
      if (evict) await evictDurableObject(stubOf("conc-s1")); // every copy of the request now finds the session only in storage
      const replies = await Promise.all(Array.from({ length: 6 }, () => meter.send(record, counter)));
      expect(replies.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409, 409]);
      expect(replies.filter((r) => r.status === 409).every((r) => r.error === "replayed_message")).toBe(true);
      expect(await storedCounter("conc-s1", meter)).toBe(counter);
    }
  });

  it("never lets the stored counter go backwards when counters arrive out of order at once", async () => {
    const meter = await TestMeter.enroll("conc-s2");
    await meter.connect();
    for (let round = 0; round < 4; round++) {
      const base = meter.counter;
      const counters = [1, 2, 3, 4, 5, 6].map((i) => base + i);
      const records = await Promise.all(counters.map((c) => seal(meter, c)));
      const replies = await Promise.all(counters.map((c, i) => meter.send(records[i]!, c)));
      const accepted = counters.filter((_, i) => replies[i]!.status === 200);
      const top = counters.at(-1)!;
      meter.counter = top;
      // Whatever interleaving happened, the highest counter served is the one kept.
      expect(await storedCounter("conc-s2", meter)).toBe(Math.max(...accepted));
      // And nothing served can be served again.
      for (const c of accepted) expect((await meter.send(records[counters.indexOf(c)]!, c)).error).toBe("replayed_message");
    }
  });
});

describe("one meter, two sessions at once", () => {
  it("opens both, indexes both (so a suspension ends both), and keeps the reading counter at its highest", async () => {
    const meter = await TestMeter.enroll("conc-s3");
    const other = twin(meter);
    const opened = await Promise.all([meter.connect(), other.connect()]);
    expect(opened.map((o) => o.status)).toEqual([200, 200]);
    expect(toHex(meter.connectionId!)).not.toBe(toHex(other.connectionId!));
    const index = await runInDurableObject(stubOf("conc-s3"), async (_i, state) => state.storage.get<string[]>(`m:${meter.id}`));
    expect([...index!].sort()).toEqual([toHex(meter.connectionId!), toHex(other.connectionId!)].sort());

    const keys = await meter.fetchKeys();
    other.counter = Math.max(other.counter, 1);
    // Readings 1..6 split over the two sessions, all at once.
    const sent = await Promise.all(
      [1, 2, 3, 4, 5, 6].map(async (ic) => {
        const via = ic % 2 ? meter : other;
        return via.request("reading", new CborMap([["apdu", await meter.reading(keys.guek!.key, keys.ak!.key, ic)]]), ++via.counter);
      }),
    );
    const okCounters = sent.map((r, i) => (r.response?.ok ? i + 1 : 0)).filter((c) => c > 0);
    expect(okCounters).toContain(6);
    const stored = await runInDurableObject(stubOf("conc-s3"), async (_i, state) => state.storage.get<number>(`ic:${meter.id}:${keys.guek!.keyId}:${keys.guek!.version}`));
    expect(stored).toBe(6);
    const replay = await meter.request("reading", new CborMap([["apdu", await meter.reading(keys.guek!.key, keys.ak!.key, 6)]]));
    expect(replay.response).toMatchObject({ ok: false, code: "reading_replayed" });

    const { call } = await import("../helpers/http");
    expect((await call("POST", `/v1/admin/meters/${meter.id}/suspend`)).status).toBe(200);
    for (const m of [meter, other]) expect((await m.request("ping")).status).not.toBe(200);
    const left = await runInDurableObject(stubOf("conc-s3"), async (_i, state) => (await state.storage.list({ prefix: "s:" })).size);
    expect(left).toBe(0);
  });
});
