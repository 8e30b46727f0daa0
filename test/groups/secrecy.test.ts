import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../functions/crypto";
import { bundles, closure, createProgram, groupKeyOf, members } from "../helpers/groups";
import { enrolledClient } from "../helpers/sdk-meter";

type Meter = Awaited<ReturnType<typeof enrolledClient>>;
const POOL = 8;
let pool: Meter[] = [];

beforeAll(async () => {
  pool = await Promise.all(Array.from({ length: POOL }, () => enrolledClient()));
}, 120_000);

/** A step: meters to add and to remove, as indices into the pool (filtered against membership). */
const step = fc.record({ add: fc.uniqueArray(fc.nat(POOL - 1), { maxLength: 4 }), remove: fc.uniqueArray(fc.nat(POOL - 1), { maxLength: 3 }) });

describe("group secrecy under random joins, leaves and batches (real graph, real SDK)", () => {
  it("members always hold the current key; departed members never learn a later one; joiners never an earlier one", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(2, 3, 4), fc.array(step, { minLength: 1, maxLength: 6 }), async (degree, steps) => {
        const program = await createProgram(degree);
        const inProgram = new Set<number>();
        const groupKeys = new Map<number, string>(); // epoch -> group key
        const departed: { epoch: number; known: ReturnType<Meter["client"]["groupKey"]> extends infer _ ? { level: number; index: number; version: number; key: Uint8Array }[] : never }[] = [];
        const joined: { epoch: number; known: { level: number; index: number; version: number; key: Uint8Array }[] }[] = [];
        for (const s of steps) {
          const remove = s.remove.filter((i) => inProgram.has(i) && !s.add.includes(i));
          const add = s.add.filter((i) => !inProgram.has(i));
          if (add.length + remove.length === 0) continue;
          const knownBefore = new Map(remove.map((i) => [i, heldKeys(pool[i]!, program)]));
          const res = await members(program, { add: add.map((i) => pool[i]!.id), remove: remove.map((i) => pool[i]!.id) });
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          const epoch = res.body.epoch.epoch as number;
          for (const i of remove) {
            inProgram.delete(i);
            departed.push({ epoch, known: knownBefore.get(i)! });
            pool[i]!.client["groups"].forget(program);
          }
          for (const i of add) inProgram.add(i);
          const current = await groupKeyOf(program);
          if (current) groupKeys.set(current.epoch, current.key);
          // Every member, old or new, derives the current group key from what it receives.
          for (const i of inProgram) {
            const got = await pool[i]!.client.rekey(program);
            expect([got.epoch, toHex(got.key)]).toEqual([current!.epoch, current!.key]);
          }
          for (const i of add) joined.push({ epoch, known: heldKeys(pool[i]!, program) });
        }
        const seen = await bundles(program);
        for (const d of departed) {
          const learned = closure(d.known, seen.filter((b) => b.epoch >= d.epoch).flatMap((b) => b.entries));
          for (const [epoch, key] of groupKeys) if (epoch >= d.epoch) expect(learned.has(key), `departed at ${d.epoch} learns key of ${epoch}`).toBe(false);
        }
        for (const j of joined) {
          const learned = closure(j.known, seen.filter((b) => b.epoch > j.epoch).flatMap((b) => b.entries));
          for (const [epoch, key] of groupKeys) if (epoch < j.epoch) expect(learned.has(key), `joiner at ${j.epoch} learns key of ${epoch}`).toBe(false);
        }
        for (const i of inProgram) pool[i]!.client["groups"].forget(program);
      }),
      { numRuns: 12 },
    );
  }, 300_000);
});

function heldKeys(m: Meter, program: string) {
  return m.client["groups"].heldKeys(program);
}
