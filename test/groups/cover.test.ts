import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toHex } from "../../functions/crypto";
import { call, unique } from "../helpers/http";
import { coverBundles, coverClosure, coverGraphOf, coverKeyOf, createProgram, expectAllDerive, groupKeyOf, members } from "../helpers/groups";
import { enrolledClient } from "../helpers/sdk-meter";
import type { CoverEntry } from "../../wire/cover";

type Meter = Awaited<ReturnType<typeof enrolledClient>>;
const regionTree = (region: string) => env.KEY_GRAPH.get(env.KEY_GRAPH.idFromName(`region:${region}`));
const concentrator = (region: string) => env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(region));

/** Meters enrolled one after another, so meter i sits at leaf i of the region's tree. */
async function regionOf(count: number, prefix = "cv"): Promise<{ region: string; meters: Meter[] }> {
  const region = unique(prefix);
  const meters: Meter[] = [];
  for (let i = 0; i < count; i++) meters.push(await enrolledClient(region));
  return { region, meters };
}

describe("region key trees", () => {
  it("hold every enrolled meter; the root is the region's broadcast group key; a revoked meter leaves, and the region's DLMS broadcast key is replaced", async () => {
    const { region, meters } = await regionOf(3, "rt");
    const status = await regionTree(region).status();
    expect(status.ok && [status.value.members, status.value.epoch]).toEqual([3, 3]);
    const tree = `region:${region}`;
    const got = await meters[0]!.client.rekey(tree);
    expect(toHex(got.key)).toBe((await groupKeyOf(tree))!.key);
    // Only its own region's tree.
    await expect(meters[0]!.client.rekey("region:somewhere-else")).rejects.toMatchObject({ code: "not_a_member" });

    const dlmsBefore = await meters[0]!.client.fetchKeys();
    expect((await call("POST", `/v1/admin/meters/${meters[2]!.id}/revoke`, { json: { reason: "stolen" } })).status).toBe(200);
    // The DLMS broadcast key it held is replaced at once as well.
    const dlmsAfter = await meters[0]!.client.fetchKeys();
    expect(toHex(dlmsAfter.gbek!.key)).not.toBe(toHex(dlmsBefore.gbek!.key));
    const after = await regionTree(region).status();
    expect(after.ok && [after.value.members, after.value.epoch]).toEqual([2, 4]);
    const moved = await meters[0]!.client.rekey(tree);
    expect(moved.epoch).toBe(4);
    expect(toHex(moved.key)).not.toBe(toHex(got.key));
    const audited = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'region.tree.rekey' AND target_id = ?").bind(region).first<{ n: number }>();
    expect(audited?.n).toBe(4); // three enrollments, one revocation
  });

  it("take back an active meter that missed its join (its region's tree was out of reach at enrollment) when it first asks", async () => {
    const { region, meters } = await regionOf(2, "heal");
    const left = await regionTree(region).adjust(`region:${region}`, 4, [], [meters[1]!.id], "test");
    // Outside adjustRegionTrees nothing audits it: the tree hands it out until it is confirmed.
    expect(left.ok && left.value.unaudited.map((e) => [e.epoch === left.value.applied, e.left])).toEqual([[true, 1]]);
    const got = await meters[1]!.client.rekey(`region:${region}`);
    expect(toHex(got.key)).toBe((await groupKeyOf(`region:${region}`))!.key);
    const status = await regionTree(region).status();
    expect(status.ok && status.value.members).toBe(2);
  });
});

describe("cover-keyed DR programs", () => {
  it("wrap the key once per subtree of the complete-subtree cover; a join costs no wrap", async () => {
    // 16 meters fill a region tree of degree 4 and height 2: leaves 0..15.
    const { meters } = await regionOf(16);
    const all = await createProgram(4, "immediate", "cover");
    const first = await members(all, { add: meters.map((m) => m.id) });
    expect(first.body.epoch).toMatchObject({ wraps: 1, forwards: 0 }); // everyone: the region's root
    const leave = await members(all, { remove: [meters[0]!.id] });
    expect(leave.body.epoch).toMatchObject({ wraps: 6, forwards: 0 }); // (d − 1)·h: leaves 1–3, subtrees 1–3
    const join = await members(all, { add: [meters[0]!.id] });
    expect(join.body.epoch).toMatchObject({ wraps: 0, forwards: 1 });

    const half = await createProgram(4, "immediate", "cover");
    await members(half, { add: meters.slice(0, 8).map((m) => m.id) });
    const out = await members(half, { remove: [meters[5]!.id] });
    expect(out.body.epoch).toMatchObject({ wraps: 4 }); // subtree 0 and leaves 4, 6, 7
    expect((await call("GET", `/v1/admin/programs/${half}`)).body).toMatchObject({ keying: "cover", members: 7, epoch: 2 });
    const timeline = await call("GET", `/v1/admin/programs/${all}/epochs`);
    expect(timeline.body.epochs.map((e: { wraps: number; forwards: number }) => [e.wraps, e.forwards])).toEqual([[1, 0], [6, 0], [0, 1]]);
  });

  it("reach members through their sessions: a leave comes as the one wrap on their region path, cut from the concentrator's cache", async () => {
    const { region, meters } = await regionOf(6);
    const program = await createProgram(4, "immediate", "cover");
    await members(program, { add: meters.slice(0, 5).map((m) => m.id) });
    for (const m of meters) await m.client.rekey(`region:${region}`); // each now knows its region leaf
    await expectAllDerive(program, meters.slice(0, 5), coverKeyOf);
    await members(program, { remove: [meters[1]!.id] });
    const cached = await runInDurableObject(concentrator(region), async (_i, state) => state.storage.get<{ epoch: number; keying: string }>(`b:${program}`));
    expect(cached).toMatchObject({ epoch: 2, keying: "cover" });
    // The graph forgets meter 0, so only the concentrator's cache can still serve it.
    await runInDurableObject(coverGraphOf(program), async (_i, state) => void state.storage.sql.exec("DELETE FROM members WHERE meter_id = ?", meters[0]!.id));
    await expectAllDerive(program, [meters[0]!], coverKeyOf);
    await expectAllDerive(program, meters.slice(2, 5), coverKeyOf);
    // The departed meter and the outsider are refused, and a DR command sealed now is not theirs to open.
    await expect(meters[1]!.client.rekey(program)).rejects.toMatchObject({ code: "not_a_member" });
    const sealed = await call("POST", `/v1/admin/programs/${program}/commands`, { json: { command: "c001c100" } });
    expect(sealed.status).toBe(200);
    const signed = Uint8Array.from(Buffer.from(sealed.body.signed, "hex"));
    expect(toHex(meters[0]!.client.openCommand(program, signed))).toBe("c001c100");
    // (Its failed rekey dropped the old key: it holds no group key for the program at all now.)
    expect(() => meters[1]!.client.openCommand(program, signed)).toThrow(expect.objectContaining({ code: "rekey_incomplete" }));
  });

  it("a meter in k programs stores its region path plus k keys, against a path per program when each has a tree", async () => {
    const { region, meters } = await regionOf(20);
    // Two meters of the region, both in every program: one rekeys the cover-keyed ones, the other the tree-keyed ones.
    const [viaCover, viaTree] = [meters[7]!.client, meters[8]!.client];
    for (const c of [viaCover, viaTree]) await c.rekey(`region:${region}`);
    expect(viaCover.storedGroupKeyCount()).toBe(4); // 20 leaves, degree 4: height 3, so leaf + 3 ancestors
    const counts: Record<number, { cover: number; tree: number }> = {};
    for (let k = 1; k <= 10; k++) {
      for (const [keying, client] of [["cover", viaCover], ["tree", viaTree]] as const) {
        const program = await createProgram(4, "immediate", keying);
        await members(program, { add: meters.map((m) => m.id) });
        await client.rekey(program);
      }
      if (k === 1 || k === 3 || k === 10) counts[k] = { cover: viaCover.storedGroupKeyCount(), tree: viaTree.storedGroupKeyCount() };
    }
    // Shared: (⌈log_d n_R⌉ + 1) + k.  Independent trees: the same region path + Σ (⌈log_d n_i⌉ + 1), each n_i = 20.
    expect(counts).toEqual({ 1: { cover: 5, tree: 8 }, 3: { cover: 7, tree: 16 }, 10: { cover: 14, tree: 44 } });
  });

  it("secrecy under random joins, leaves, batches and region churn: no meter ever learns a key of an epoch it was not a member in", async () => {
    const POOL = 6;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ add: fc.uniqueArray(fc.nat(POOL - 1), { maxLength: 3 }), remove: fc.uniqueArray(fc.nat(POOL - 1), { maxLength: 3 }), enroll: fc.boolean() }), { minLength: 2, maxLength: 6 }),
        async (steps) => {
          const { region, meters } = await regionOf(POOL, "sec");
          const program = await createProgram(4, "immediate", "cover");
          const inProgram = new Set<number>();
          const memberAt = new Map<number, Set<number>>(); // epoch -> members
          const keyAt = new Map<number, string>();
          const entries = new Map<number, CoverEntry[]>();
          const regionKnown = meters.map(() => [] as { region: string; level: number; index: number; version: number; key: Uint8Array }[]);
          const programKnown = meters.map(() => [] as { version: number; key: Uint8Array }[]);
          for (const s of steps) {
            if (s.enroll) await enrolledClient(region); // region churn: the tree moves on under the program
            const remove = s.remove.filter((i) => inProgram.has(i) && !s.add.includes(i));
            const add = s.add.filter((i) => !inProgram.has(i));
            if (add.length + remove.length > 0) {
              const res = await members(program, { add: add.map((i) => meters[i]!.id), remove: remove.map((i) => meters[i]!.id) });
              expect(res.status, JSON.stringify(res.body)).toBe(200);
              for (const i of remove) inProgram.delete(i);
              for (const i of add) inProgram.add(i);
            }
            const current = await coverKeyOf(program);
            if (!current) continue;
            memberAt.set(current.epoch, new Set(inProgram));
            keyAt.set(current.epoch, current.key);
            for (const b of await coverBundles(program)) entries.set(b.epoch, b.entries);
            // Every meter of the region keeps its region keys current: the strongest insider.
            for (const [i, m] of meters.entries()) {
              await m.client.rekey(`region:${region}`);
              for (const k of m.client["groups"].heldKeys(`region:${region}`)) regionKnown[i]!.push({ region, ...k });
              if (!inProgram.has(i)) continue;
              const got = await m.client.rekey(program);
              expect([got.epoch, toHex(got.key)]).toEqual([current.epoch, current.key]);
              programKnown[i]!.push({ version: got.epoch, key: got.key });
            }
          }
          const seen = [...entries.values()].flat();
          for (const i of meters.keys()) {
            const learnt = coverClosure(regionKnown[i]!, programKnown[i]!, seen);
            for (const [epoch, key] of keyAt) if (!memberAt.get(epoch)!.has(i)) expect(learnt.has(key), `meter ${i} learns the key of epoch ${epoch}`).toBe(false);
          }
        },
      ),
      { numRuns: 5 },
    );
  });
});
