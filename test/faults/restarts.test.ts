import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { continueRequest } from "../../edhoc/transport";
import { call } from "../helpers/http";
import { createProgram, expectAllDerive, graphOf, members } from "../helpers/groups";
import { enrolledClient } from "../helpers/sdk-meter";
import { post, TestMeter } from "../helpers/test-meter";

type Meter = Awaited<ReturnType<typeof enrolledClient>>;
const concentrator = (region: string) => env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(region));
const sessionsOf = (region: string) => runInDurableObject(concentrator(region), async (_i, state) => (await state.storage.list({ prefix: "s:" })).size);

describe("a concentrator restarted in the middle of a handshake", () => {
  it("after message_2, refuses the message_3 cleanly (nothing half made), and the meter's next handshake works", async () => {
    const meter = await TestMeter.enroll("restart-h1");
    const { res, body, initiator } = await meter.start();
    expect(res.status).toBe(200);
    const m2 = await initiator.processMessage2(body);
    const m3 = await initiator.message3();
    await evictDurableObject(concentrator("restart-h1")); // the exchange lived only in memory
    const reply = await post("/.well-known/edhoc?region=restart-h1", "POST", continueRequest(m2.connectionIdResponder, m3), "application/cid-edhoc+cbor-seq");
    expect([reply.status, reply.headers.get("gridkey-error")]).toEqual([404, "unknown_exchange"]);
    expect(await sessionsOf("restart-h1")).toBe(0);
    const again = await meter.connect();
    expect([again.status, again.response?.ok]).toEqual([200, true]);
    expect(await sessionsOf("restart-h1")).toBe(1);
  });
});

describe("a key graph or concentrator that dies part way through a key update", () => {
  it("an epoch stored but never published to the concentrator: members still get the current key from the graph", async () => {
    const program = await createProgram(2);
    const ms = await Promise.all([1, 2, 3, 4].map(() => enrolledClient("restart-k1")));
    await members(program, { add: ms.map((m) => m.id) });
    await expectAllDerive(program, ms);
    expect((await members(program, { remove: [ms[3]!.id] })).status).toBe(200);
    // What a death between the graph's transaction and its push leaves: the concentrator has
    // the older bundle (or none), in memory and in storage.
    await runInDurableObject(concentrator("restart-k1"), async (_i, state) => void (await state.storage.delete(`b:${program}`)));
    await evictDurableObject(concentrator("restart-k1"));
    await expectAllDerive(program, ms.slice(0, 3));
    expect(await ms[3]!.client.rekey(program).then(() => "derived a key", (e: { code: string }) => e.code)).toBe("not_a_member");
  });

  it("a graph evicted while membership changes are in flight: each call completes or says so, and repeating converges", async () => {
    const program = await createProgram(2);
    const ms = await Promise.all([1, 2, 3, 4, 5].map(() => enrolledClient("restart-k2")));
    await members(program, { add: ms.slice(0, 2).map((m) => m.id) });
    const changes: { add?: string[]; remove?: string[] }[] = [{ add: [ms[2]!.id] }, { remove: [ms[0]!.id] }, { add: [ms[3]!.id, ms[4]!.id] }];
    const inFlight = changes.map((c) => members(program, c));
    await evictDurableObject(graphOf(program));
    const first = await Promise.all(inFlight);
    for (const r of first) expect([200, 503], JSON.stringify(r.body)).toContain(r.status);
    for (const [i, r] of first.entries()) {
      if (r.status === 503) {
        expect(r.body.error.code).toBe("change_incomplete");
        expect((await members(program, changes[i]!)).status).toBe(200);
      }
    }
    const inGraph = await runInDurableObject(graphOf(program), async (_i, state) => state.storage.sql.exec<{ meter_id: string }>("SELECT meter_id FROM members ORDER BY meter_id").toArray().map((r) => r.meter_id));
    expect(inGraph).toEqual(ms.slice(1).map((m) => m.id).sort());
    await expectAllDerive(program, ms.slice(1));
  });

  it("a batch flush whose storage fails part way: nothing applied, the queue kept, and the next flush applies it once", async () => {
    const program = await createProgram(2, "batched");
    const ms = await Promise.all([1, 2, 3].map(() => enrolledClient("restart-k3")));
    await members(program, { add: ms.map((m) => m.id) });
    // The last write of a flush is emptying its queue: make exactly that fail.
    await runInDurableObject(graphOf(program), async (_i, state) => void state.storage.sql.exec("CREATE TRIGGER queue_down BEFORE DELETE ON pending BEGIN SELECT RAISE(ABORT, 'graph storage unavailable'); END"));
    const failed = await call("POST", `/v1/admin/programs/${program}/rekey`);
    expect([failed.status, failed.body.error.code]).toEqual([503, "storage_unavailable"]);
    expect((await call("GET", `/v1/admin/programs/${program}`)).body).toMatchObject({ epoch: 0, members: 0, pending: 3 });
    await runInDurableObject(graphOf(program), async (_i, state) => void state.storage.sql.exec("DROP TRIGGER queue_down"));
    await evictDurableObject(graphOf(program));
    const flushed = await call("POST", `/v1/admin/programs/${program}/rekey`);
    expect(flushed.body).toMatchObject({ epoch: { epoch: 1, joined: 3 }, program: { epoch: 1, members: 3, pending: 0 } });
    const audited = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'program.rekey' AND target_id = ?").bind(program).first<{ n: number }>();
    expect(audited!.n).toBe(1);
    await expectAllDerive(program, ms);
  });

  it("the group key's invocation counter: seals at once get distinct counters, and a restart never resets one", async () => {
    const program = await createProgram(2);
    const m = await enrolledClient("restart-k4");
    await members(program, { add: [m.id] });
    const seal = () => call("POST", `/v1/admin/programs/${program}/commands`, { json: { command: "c2010000080000010000ff0200" } });
    const burst = await Promise.all([1, 2, 3, 4].map(seal));
    for (const r of burst) expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(burst.map((r) => r.body.invocationCounter).sort()).toEqual([1, 2, 3, 4]);
    await evictDurableObject(graphOf(program));
    const after = await seal();
    expect(after.body).toMatchObject({ epoch: 1, invocationCounter: 5 });
    const audited = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'program.command.seal' AND target_id = ?").bind(program).first<{ n: number }>();
    expect(audited!.n).toBe(5);
  });
});
