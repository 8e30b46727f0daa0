import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toHex } from "../../functions/crypto";
import { regionTree } from "../../functions/region-tree";
import { SdkError } from "../../sdk";
import { call } from "../helpers/http";
import { bundles, closure, createProgram, expectAllDerive, graphOf, groupKeyOf, members } from "../helpers/groups";
import { enrolledClient } from "../helpers/sdk-meter";

type Meter = Awaited<ReturnType<typeof enrolledClient>>;
type Stub = ReturnType<typeof graphOf>;

/**
 * A key graph whose storage refuses writes to its member table: a SQLite trigger in the
 * Durable Object's own database, so the object's transaction fails exactly where a real
 * storage failure would fail it, and nothing in product code knows about the test.
 */
async function breakGraph(graph: Stub, on: "INSERT" | "DELETE"): Promise<() => Promise<void>> {
  await runInDurableObject(graph, async (_i, state) => {
    state.storage.sql.exec(`CREATE TRIGGER graph_down BEFORE ${on} ON members BEGIN SELECT RAISE(ABORT, 'graph storage unavailable'); END`);
  });
  return () => runInDurableObject(graph, async (_i, state) => void state.storage.sql.exec("DROP TRIGGER graph_down"));
}

const audited = async (action: string, programOrMeter: string, meterId?: string) =>
  (await env.DB.prepare(`SELECT COUNT(*) AS n FROM audit_log WHERE action = ? AND target_id = ?${meterId ? " AND details LIKE ?" : ""}`)
    .bind(...[action, programOrMeter, ...(meterId ? [`%${meterId}%`] : [])])
    .first<{ n: number }>())!.n;
const registered = async (program: string) =>
  (await env.DB.prepare("SELECT meter_id FROM program_members WHERE program_id = ? ORDER BY meter_id").bind(program).all<{ meter_id: string }>()).results.map((r) => r.meter_id);
const graphMembers = (graph: Stub) =>
  runInDurableObject(graph, async (_i, state) => state.storage.sql.exec<{ meter_id: string }>("SELECT meter_id FROM members ORDER BY meter_id").toArray().map((r) => r.meter_id));
const rekeyError = (m: Meter, program: string) => m.client.rekey(program).then(() => "derived a key", (e: unknown) => (e as SdkError).code);

describe("a key graph that fails after the registry write", () => {
  it("join: the caller is told, the registry and audit say what happened, and repeating the request completes it", async () => {
    const program = await createProgram(2);
    const [a, b] = await Promise.all([enrolledClient(), enrolledClient()]);
    expect((await members(program, { add: [a.id] })).status).toBe(200);
    await a.client.rekey(program);
    const repair = await breakGraph(graphOf(program), "INSERT");
    const failed = await members(program, { add: [b.id] });
    expect([failed.status, failed.body.error.code]).toEqual([503, "change_incomplete"]);
    expect(JSON.stringify(failed.body)).not.toContain("graph storage unavailable"); // no internals leak
    expect(await registered(program)).toEqual([a.id, b.id].sort());
    expect(await audited("program.member.add", program, b.id)).toBe(1);
    expect((await groupKeyOf(program))!.epoch).toBe(1); // the graph did not move
    expect(await rekeyError(b, program)).toBe("not_a_member");
    await repair();

    const retried = await members(program, { add: [b.id] });
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body.epoch).toMatchObject({ epoch: 2, joined: 1 });
    expect(await graphMembers(graphOf(program))).toEqual([a.id, b.id].sort());
    expect(await audited("program.member.add", program, b.id)).toBe(1); // recorded once, not twice
    await expectAllDerive(program, [a, b]);
    // A third repeat is a no-op: no new epoch.
    expect((await members(program, { add: [b.id] })).body).toMatchObject({ epoch: null, program: { epoch: 2, members: 2 } });
  });

  it("leave: a retried removal is not refused as 'not a member', and the departed meter holds no current key", async () => {
    const program = await createProgram(2);
    const ms = await Promise.all([1, 2, 3].map(() => enrolledClient()));
    await members(program, { add: ms.map((m) => m.id) });
    await expectAllDerive(program, ms);
    const gone = ms[2]!;
    const known = gone.client["groups"].heldKeys(program);
    const repair = await breakGraph(graphOf(program), "DELETE");
    const failed = await members(program, { remove: [gone.id] });
    expect([failed.status, failed.body.error.code]).toEqual([503, "change_incomplete"]);
    expect(await graphMembers(graphOf(program))).toContain(gone.id);
    await repair();

    const retried = await members(program, { remove: [gone.id] });
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body.epoch).toMatchObject({ epoch: 2, left: 1 });
    expect(await graphMembers(graphOf(program))).not.toContain(gone.id);
    expect(await audited("program.member.remove", program, gone.id)).toBe(1);
    await expectAllDerive(program, ms.slice(0, 2));
    expect(await rekeyError(gone, program)).toBe("not_a_member");
    const learned = closure(known, (await bundles(program)).flatMap((x) => x.entries));
    expect(learned.has((await groupKeyOf(program))!.key)).toBe(false);
    // A meter neither registered nor in the graph is still refused.
    const again = await members(program, { remove: [gone.id] });
    expect([again.status, again.body.error.code]).toEqual([404, "not_a_member"]);
  });

  it("revocation: repeating it after a graph failure takes the meter out of every program and its region tree", async () => {
    const [p1, p2] = [await createProgram(2), await createProgram(2)];
    const [a, m] = await Promise.all([enrolledClient("fault-r1"), enrolledClient("fault-r1")]);
    for (const p of [p1, p2]) await members(p, { add: [a.id, m.id] });
    const repair = await breakGraph(graphOf(p2), "DELETE");
    const failed = await call("POST", `/v1/admin/meters/${m.id}/revoke`, { json: { reason: "stolen" } });
    expect([failed.status, failed.body.error.code]).toEqual([503, "change_incomplete"]);
    expect(await graphMembers(graphOf(p2))).toContain(m.id);
    await repair();

    const retried = await call("POST", `/v1/admin/meters/${m.id}/revoke`, { json: { reason: "stolen" } });
    expect([retried.status, retried.body.state]).toEqual([200, "revoked"]);
    for (const p of [p1, p2]) {
      expect(await graphMembers(graphOf(p))).toEqual([a.id]);
      expect(await registered(p)).toEqual([a.id]);
      await expectAllDerive(p, [a]);
    }
    expect(await graphMembers(regionTree(env, "fault-r1"))).toEqual([a.id]);
    expect(await audited("meter.revoke", m.id)).toBe(1);
  });
});

describe("a suspension whose key graph step fails", () => {
  it("is completed by repeating it: the meter leaves the graph, and its registration stays (suspended)", async () => {
    const program = await createProgram(2);
    const [a, m] = await Promise.all([enrolledClient("fault-s1"), enrolledClient("fault-s1")]);
    await members(program, { add: [a.id, m.id] });
    const repair = await breakGraph(graphOf(program), "DELETE");
    const failed = await call("POST", `/v1/admin/meters/${m.id}/suspend`);
    expect([failed.status, failed.body.error.code]).toEqual([503, "change_incomplete"]);
    expect(await graphMembers(graphOf(program))).toContain(m.id);
    await repair();
    const retried = await call("POST", `/v1/admin/meters/${m.id}/suspend`);
    expect([retried.status, retried.body.state]).toEqual([200, "suspended"]);
    expect(await graphMembers(graphOf(program))).toEqual([a.id]);
    expect(await registered(program)).toEqual([a.id, m.id].sort());
    expect(await audited("program.member.suspend", program, m.id)).toBe(1);
    await expectAllDerive(program, [a]);
    expect((await call("POST", `/v1/admin/meters/${m.id}/resume`)).status).toBe(200);
    await expectAllDerive(program, [a, m]);
  });
});

describe("a region tree that fails during enrollment", () => {
  it("does not fail the enrollment; the meter joins its region's tree when it first asks, and gets the current key", async () => {
    const region = "fault-enroll";
    const first = await enrolledClient(region);
    const repair = await breakGraph(regionTree(env, region), "INSERT");
    const late = await enrolledClient(region); // expects 201 inside
    expect(await graphMembers(regionTree(env, region))).toEqual([first.id]);
    await repair();
    const got = await late.client.rekey(`region:${region}`);
    expect(await graphMembers(regionTree(env, region))).toEqual([first.id, late.id].sort());
    const mine = await first.client.rekey(`region:${region}`);
    expect([mine.epoch, toHex(mine.key)]).toEqual([got.epoch, toHex(got.key)]);
    expect(await audited("region.tree.rekey", region)).toBe(2);
  });
});

describe("a region tree epoch whose audit record fails", () => {
  it("is recorded by the region's next change, marked late: an epoch is never left unaudited", async () => {
    const region = "fault-tree-audit";
    const first = await enrolledClient(region);
    await env.DB.prepare("CREATE TRIGGER tree_audit_down BEFORE INSERT ON audit_log WHEN NEW.action = 'region.tree.rekey' BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END").run();
    let second: Meter;
    try {
      second = await enrolledClient(region); // the enrollment stands; its tree epoch happens, its record fails
    } finally {
      await env.DB.prepare("DROP TRIGGER tree_audit_down").run();
    }
    expect(await graphMembers(regionTree(env, region))).toEqual([first.id, second.id].sort());
    expect(await audited("region.tree.rekey", region)).toBe(1);

    const third = await enrolledClient(region);
    const records = (await env.DB.prepare("SELECT details FROM audit_log WHERE action = 'region.tree.rekey' AND target_id = ? ORDER BY seq").bind(region).all<{ details: string }>()).results.map(
      (r) => JSON.parse(r.details) as { epoch: number; joined: number; late?: boolean },
    );
    expect(records.map((r) => [r.epoch, r.joined, r.late ?? false])).toEqual([
      [1, 1, false],
      [2, 1, true],
      [3, 1, false],
    ]);
    const got = await third.client.rekey(`region:${region}`);
    expect(got.epoch).toBe(3);
  });
});

describe("a registry write that fails", () => {
  it("changes neither the registry nor the key graph, leaves no audit record, and says so", async () => {
    const program = await createProgram(2);
    const ms = await Promise.all([1, 2].map(() => enrolledClient()));
    await members(program, { add: [ms[0]!.id] });
    const before = await groupKeyOf(program);
    await env.DB.prepare("CREATE TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END").run();
    let add, remove;
    try {
      add = await members(program, { add: [ms[1]!.id] });
      remove = await members(program, { remove: [ms[0]!.id] });
    } finally {
      await env.DB.prepare("DROP TRIGGER audit_down").run();
    }
    for (const res of [add, remove]) expect([res.status, res.body.error.code]).toEqual([503, "storage_unavailable"]);
    expect(await registered(program)).toEqual([ms[0]!.id]);
    expect(await graphMembers(graphOf(program))).toEqual([ms[0]!.id]);
    expect(await groupKeyOf(program)).toEqual(before);
    expect(await audited("program.member.add", program, ms[1]!.id)).toBe(0);
    expect(await audited("program.member.remove", program, ms[0]!.id)).toBe(0);
  });
});
