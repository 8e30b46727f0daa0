// Threat model (docs/threat-model.md): departed DR members who pool everything they ever
// held, and every rekey bundle ever multicast, still learn no group key from after the
// last of them left. test/groups/secrecy.test.ts shows it for each departed member alone;
// this is the coalition.
import { beforeAll, describe, expect, it } from "vitest";
import { bundles, closure, createProgram, groupKeyOf, members } from "../helpers/groups";
import { call } from "../helpers/http";
import { enrolledClient } from "../helpers/sdk-meter";

type Meter = Awaited<ReturnType<typeof enrolledClient>>;
type Held = { level: number; index: number; version: number; key: Uint8Array };

let pool: Meter[] = [];
beforeAll(async () => {
  pool = await Promise.all(Array.from({ length: 8 }, () => enrolledClient()));
}, 120_000);

const held = (m: Meter, program: string): Held[] => m.client["groups"].heldKeys(program);

async function rekeyAll(program: string, ms: Meter[]) {
  for (const m of ms) await m.client.rekey(program);
}

describe("colluding departed members", () => {
  for (const [degree, mode] of [[2, "immediate"], [3, "batched"]] as const) {
    it(`degree ${degree}, ${mode}: pooling all they held, they learn no group key from after the last of them left`, async () => {
      const program = await createProgram(degree, mode);
      const flush = async () => {
        if (mode === "batched") expect((await call("POST", `/v1/admin/programs/${program}/rekey`)).status).toBe(200);
      };
      await members(program, { add: pool.map((m) => m.id) });
      await flush();
      await rekeyAll(program, pool);

      // Members leave at different times (siblings and far apart in the tree), each keeping
      // whatever it held when it left; the rest keep up with every epoch.
      const coalition: Held[] = [];
      const groupKeys = new Map<number, string>();
      let remaining = [...pool];
      for (const leaving of [[pool[0]!, pool[1]!], [pool[5]!], [pool[3]!, pool[7]!]]) {
        for (const m of leaving) coalition.push(...held(m, program));
        await members(program, { remove: leaving.map((m) => m.id) });
        await flush();
        remaining = remaining.filter((m) => !leaving.includes(m));
        await rekeyAll(program, remaining);
        const current = (await groupKeyOf(program))!;
        groupKeys.set(current.epoch, current.key);
      }
      // More epochs after the last departure: a join and a leave among those who stayed.
      const lastDeparture = Math.max(...groupKeys.keys());
      const stayers = remaining.filter((m) => m !== pool[2]);
      const stayerKnew = held(stayers[0]!, program);
      await members(program, { remove: [pool[2]!.id] });
      await flush();
      const after = (await groupKeyOf(program))!;
      groupKeys.set(after.epoch, after.key);

      const seen = (await bundles(program)).flatMap((b) => b.entries);
      const learned = closure(coalition, seen);
      // The closure has teeth: a member who stayed learns the newest key from the same bundles.
      expect(closure(stayerKnew, seen).has(after.key)).toBe(true);
      for (const [epoch, key] of groupKeys) {
        if (epoch >= lastDeparture) expect(learned.has(key), `the coalition learns the group key of epoch ${epoch}`).toBe(false);
      }
      await rekeyAll(program, stayers);
      for (const m of stayers) expect(m.client.groupKey(program)?.epoch).toBe(after.epoch);
    });
  }
});
