import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toHex } from "../../functions/crypto";
import { coverBundles, coverClosure, coverGraphOf, coverKeyOf, createProgram, members } from "../helpers/groups";
import { enrolledClient } from "../helpers/sdk-meter";

describe("many membership changes on one cover-keyed program at once", () => {
  it("end in the state of some serial order, and the meters who left learn nothing of the current key", async () => {
    const region = "conc-cover";
    const program = await createProgram(4, "immediate", "cover");
    const pool = await Promise.all(Array.from({ length: 8 }, () => enrolledClient(region)));
    const ids = pool.map((m) => m.id);
    expect((await members(program, { add: ids.slice(0, 4) })).status).toBe(200);
    const calls = [{ add: [ids[4]!] }, { remove: [ids[0]!] }, { add: [ids[5]!, ids[6]!] }, { remove: [ids[1]!] }, { add: [ids[7]!] }];
    const replies = await Promise.all(calls.map((c) => members(program, c)));
    for (const r of replies) expect(r.status, JSON.stringify(r.body)).toBe(200);

    const expected = ids.slice(2).sort();
    const state = await runInDurableObject(coverGraphOf(program), async (_i, s) => ({
      members: s.storage.sql.exec<{ meter_id: string }>("SELECT meter_id FROM members ORDER BY meter_id").toArray().map((r) => r.meter_id),
      epochs: s.storage.sql.exec<{ epoch: number }>("SELECT epoch FROM epochs ORDER BY epoch").toArray().map((r) => r.epoch),
    }));
    expect(state.members).toEqual(expected);
    const registered = await env.DB.prepare("SELECT meter_id FROM program_members WHERE program_id = ? ORDER BY meter_id").bind(program).all<{ meter_id: string }>();
    expect(registered.results.map((r) => r.meter_id)).toEqual(expected);
    expect(state.epochs).toEqual([1, 2, 3, 4, 5, 6]);

    const current = (await coverKeyOf(program))!;
    for (const m of pool.slice(2)) {
      const got = await m.client.rekey(program);
      expect([got.epoch, toHex(got.key)]).toEqual([current.epoch, current.key]);
    }
    // The leavers are still active meters of the region: they hold its tree's current keys.
    const seen = (await coverBundles(program)).flatMap((b) => b.entries);
    for (const gone of pool.slice(0, 2)) {
      await gone.client.rekey(`region:${region}`);
      const regionKeys = gone.client["groups"].heldKeys(`region:${region}`).map((k) => ({ region, ...k }));
      expect(regionKeys.length).toBeGreaterThan(0);
      expect(coverClosure(regionKeys, [], seen).has(current.key)).toBe(false);
    }
  });
});
