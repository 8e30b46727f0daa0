import { createScheduledController, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index";
import { call } from "../helpers/http";
import { bundles, closure, createProgram, expectAllDerive, graphOf, groupKeyOf, members } from "../helpers/groups";
import { enrolledClient } from "../helpers/sdk-meter";

type Meter = Awaited<ReturnType<typeof enrolledClient>>;
const MIN = 60_000;

const registered = async (program: string) =>
  (await env.DB.prepare("SELECT meter_id FROM program_members WHERE program_id = ? ORDER BY meter_id").bind(program).all<{ meter_id: string }>()).results.map((r) => r.meter_id);
const graphState = (program: string) =>
  runInDurableObject(graphOf(program), async (_i, state) => ({
    members: state.storage.sql.exec<{ meter_id: string }>("SELECT meter_id FROM members ORDER BY meter_id").toArray().map((r) => r.meter_id),
    epochs: state.storage.sql.exec<{ epoch: number; joined: number; left_count: number }>("SELECT epoch, joined, left_count FROM epochs ORDER BY epoch").toArray(),
  }));

describe("many membership changes on one program at once", () => {
  it("end in the state of some serial order: one epoch per call, the registry and graph agree, leavers hold no current key", async () => {
    const program = await createProgram(3);
    const pool = await Promise.all(Array.from({ length: 12 }, () => enrolledClient("conc-m1")));
    const ids = pool.map((m) => m.id);
    expect((await members(program, { add: ids.slice(0, 6) })).status).toBe(200);
    await expectAllDerive(program, pool.slice(0, 6));
    const leavers = [0, 1, 2];
    const known = leavers.map((i) => pool[i]!.client["groups"].heldKeys(program));
    const calls: { add?: string[]; remove?: string[] }[] = [
      { add: [ids[6]!] },
      { add: [ids[7]!, ids[8]!] },
      { remove: [ids[0]!] },
      { remove: [ids[1]!] },
      { add: [ids[9]!], remove: [ids[2]!] },
      { add: [ids[10]!] },
      { add: [ids[11]!] },
    ];
    const replies = await Promise.all(calls.map((c) => members(program, c)));
    for (const r of replies) expect(r.status, JSON.stringify(r.body)).toBe(200);

    // Any serial order of these calls gives the same members, and one epoch per call.
    const expected = [...ids.slice(3)].sort();
    const { members: inGraph, epochs } = await graphState(program);
    expect(inGraph).toEqual(expected);
    expect(await registered(program)).toEqual(expected);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Each epoch after the first is exactly one of the calls (as the serial order applied them).
    const shapes = epochs.slice(1).map((e) => `${e.joined}/${e.left_count}`).sort();
    expect(shapes).toEqual(calls.map((c) => `${c.add?.length ?? 0}/${c.remove?.length ?? 0}`).sort());
    expect(replies.map((r) => r.body.epoch.epoch).sort((a: number, b: number) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8]);

    await expectAllDerive(program, pool.slice(3));
    const seen = (await bundles(program)).flatMap((b) => b.entries);
    const current = (await groupKeyOf(program))!.key;
    for (const k of known) expect(closure(k, seen).has(current)).toBe(false);
    const audit = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE target_id = ? AND action IN ('program.member.add', 'program.member.remove')").bind(program).first<{ n: number }>();
    expect(audit!.n).toBe(6 + 6 + 3); // the first six, then six joins and three leaves: once each
  });

  it("the same change sent several times at once is applied once", async () => {
    const program = await createProgram(2);
    const ms = await Promise.all([1, 2, 3].map(() => enrolledClient("conc-m2")));
    await members(program, { add: [ms[0]!.id] });
    const replies = await Promise.all([1, 2, 3, 4].map(() => members(program, { add: [ms[1]!.id, ms[2]!.id] })));
    for (const r of replies) expect(r.status, JSON.stringify(r.body)).toBe(200);
    const { members: inGraph, epochs } = await graphState(program);
    expect(inGraph).toEqual(ms.map((m) => m.id).sort());
    expect(epochs).toHaveLength(2);
    await expectAllDerive(program, ms);
    const audit = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE target_id = ? AND action = 'program.member.add'").bind(program).first<{ n: number }>();
    expect(audit!.n).toBe(3);

    // The same removal at once: one leaves, one audit record; the others found nothing left to remove.
    const removals = await Promise.all([1, 2, 3, 4].map(() => members(program, { remove: [ms[2]!.id] })));
    for (const r of removals) expect([200, 404], JSON.stringify(r.body)).toContain(r.status);
    expect(removals.filter((r) => r.status === 404).every((r) => r.body.error.code === "not_a_member")).toBe(true);
    const after = await graphState(program);
    expect(after.members).toEqual([ms[0]!.id, ms[1]!.id].sort());
    expect(after.epochs).toHaveLength(3);
    const removed = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE target_id = ? AND action = 'program.member.remove'").bind(program).first<{ n: number }>();
    expect(removed!.n).toBe(1);
    await expectAllDerive(program, ms.slice(0, 2));
  });
});

describe("two scheduled runs at once", () => {
  it("flush a due batched program once and rotate a due key once; no lease is left behind", async () => {
    const program = await createProgram(4, "batched");
    await call("PUT", "/v1/admin/policies", { json: { scope: "program", scopeId: program, keyClass: "group", batchWindowSeconds: 60 } });
    await call("PUT", "/v1/admin/policies", { json: { scope: "region", scopeId: "conc-sched", keyClass: "unicast", rotationSeconds: 60 } });
    const ms = await Promise.all([1, 2, 3].map(() => enrolledClient("conc-sched")));
    await members(program, { add: ms.map((m) => m.id) });
    const at = Date.now() + 2 * MIN;
    const run = () => worker.scheduled(createScheduledController({ scheduledTime: at, cron: "*/5 * * * *" }), env);
    await Promise.all([run(), run()]);

    expect((await call("GET", `/v1/admin/programs/${program}`)).body).toMatchObject({ pending: 0, epoch: 1, members: 3 });
    const rekeys = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'program.rekey' AND target_id = ?").bind(program).first<{ n: number }>();
    expect(rekeys!.n).toBe(1);
    for (const m of ms) {
      const guek = await env.DB.prepare("SELECT version || ':' || state AS v FROM keys WHERE owner_id = ? AND class = 'guek' ORDER BY version").bind(m.id).all<{ v: string }>();
      expect(guek.results.map((r) => r.v)).toEqual(["1:active", "2:new"]);
    }
    const leases = await env.DB.prepare("SELECT COUNT(*) AS n FROM leases").first<{ n: number }>();
    expect(leases!.n).toBe(0);
    await expectAllDerive(program, ms);
  });
});
