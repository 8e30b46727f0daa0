import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { custodyFor } from "../functions/custody";
import { database } from "../functions/db";
import { runScheduled } from "../functions/scheduler";
import worker from "../workers/index";
import { createProgram, members } from "./helpers/groups";
import { call, tokenFor } from "./helpers/http";
import { meterInput } from "./helpers/meters";

const MIN = 60_000;
const run = (at: number) => worker.scheduled(createScheduledController({ scheduledTime: at, cron: "*/5 * * * *" }), env);
const versions = async (meterId: string, keyClass: string) =>
  (await env.DB.prepare("SELECT version, state FROM keys WHERE owner_id = ? AND class = ? ORDER BY version").bind(meterId, keyClass).all<{ version: number; state: string }>()).results.map((r) => `${r.version}:${r.state}`);

describe("refresh policies", () => {
  it("are set through the API, validated, audited, and inherited program → region → default → built-in", async () => {
    const operator = await tokenFor("operator");
    const set = await call("PUT", "/v1/admin/policies", { token: operator, json: { scope: "region", scopeId: "pol-1", keyClass: "unicast", rotationSeconds: 3600 } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const effective = await call("GET", "/v1/admin/policies?keyClass=unicast&region=pol-1", { token: await tokenFor("auditor") });
    expect(effective.body.effective).toMatchObject({ rotationSeconds: 3600, graceSeconds: 7 * 86400 });
    const elsewhere = await call("GET", "/v1/admin/policies?keyClass=unicast&region=pol-2");
    expect(elsewhere.body.effective.rotationSeconds).toBe(90 * 86400);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ scope: "default", keyClass: "unicast", rotationSeconds: 30 }, "a rotation period is at least a minute"],
      [{ scope: "default", keyClass: "unicast", maxInvocations: 2 ** 32 }, "2^32"],
      [{ scope: "default", keyClass: "session", rotationSeconds: 3600 }, "does not apply"],
      [{ scope: "region", keyClass: "group", batchWindowSeconds: 120 }, "need one"],
      [{ scope: "default", keyClass: "group", batchWindowSeconds: 10 }, "a minute"],
    ];
    for (const [json, message] of cases) {
      const res = await call("PUT", "/v1/admin/policies", { json });
      expect([res.status, res.body.error.code]).toEqual([400, "bad_parameter"]);
      expect(res.body.error.message).toContain(message);
    }
    const audit = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'policy.set'").first<{ n: number }>();
    expect(audit!.n).toBe(1);
  });
});

describe("the scheduled run", () => {
  it("rotates keys on time, two-phase; activates an unacknowledged version after the grace; destroys retired ones after theirs", async () => {
    await call("PUT", "/v1/admin/policies", { json: { scope: "region", scopeId: "sched-1", keyClass: "unicast", rotationSeconds: 600, graceSeconds: 120 } });
    const input = await meterInput({ region: "sched-1" });
    await call("POST", "/v1/admin/meters", { json: input });
    const t0 = Date.now();
    await run(t0 + 5 * MIN);
    expect(await versions(input.id, "guek")).toEqual(["1:active"]);
    await run(t0 + 11 * MIN);
    expect(await versions(input.id, "guek")).toEqual(["1:active", "2:new"]);
    expect(await versions(input.id, "ak")).toEqual(["1:active"]); // authentication keys follow their own (default) policy
    await run(t0 + 12 * MIN);
    expect(await versions(input.id, "guek")).toEqual(["1:active", "2:new"]); // nothing twice
    await run(t0 + 14 * MIN); // the meter never acknowledged: the grace is over
    expect(await versions(input.id, "guek")).toEqual(["1:retired", "2:active"]);
    await run(t0 + 17 * MIN);
    expect(await versions(input.id, "guek")).toEqual(["1:destroyed", "2:active"]);
    const destroyed = await env.DB.prepare("SELECT wrapped FROM keys WHERE owner_id = ? AND class = 'guek' AND version = 1").bind(input.id).first<{ wrapped: string | null }>();
    expect(destroyed!.wrapped).toBeNull();
  });

  it("flushes a batched program once its window has passed, as one bundle", async () => {
    const program = await createProgram(4, "batched");
    await call("PUT", "/v1/admin/policies", { json: { scope: "program", scopeId: program, keyClass: "group", batchWindowSeconds: 120 } });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await meterInput();
      await call("POST", "/v1/admin/meters", { json: m });
      ids.push(m.id);
    }
    await members(program, { add: ids });
    const t0 = Date.now();
    await run(t0 + MIN);
    expect((await call("GET", `/v1/admin/programs/${program}`)).body).toMatchObject({ pending: 3, epoch: 0 });
    await run(t0 + 3 * MIN);
    expect((await call("GET", `/v1/admin/programs/${program}`)).body).toMatchObject({ pending: 0, epoch: 1, members: 3 });
  });

  it("does each step once when two runs overlap, and a later run picks up what a dead one left", async () => {
    await call("PUT", "/v1/admin/policies", { json: { scope: "region", scopeId: "sched-2", keyClass: "kek", rotationSeconds: 60 } });
    const input = await meterInput({ region: "sched-2" });
    await call("POST", "/v1/admin/meters", { json: input });
    const at = Date.now() + 2 * MIN;
    const db = database(env.DB);
    const custody = await custodyFor(env);
    const [a, b] = await Promise.all([runScheduled(db, env, custody, at, "run-a"), runScheduled(db, env, custody, at, "run-b")]);
    expect(await versions(input.id, "kek")).toEqual(["1:active", "2:new"]);
    expect([a["rotate-keys"], b["rotate-keys"]].filter((n) => n === 1)).toHaveLength(1);
    // A run that died holding a lease: the next run after the lease expires does the work.
    await env.DB.prepare("INSERT OR REPLACE INTO leases (name, holder, expires_at) VALUES ('destroy-retired', 'dead-run', ?)").bind(at + MIN).run();
    expect((await runScheduled(db, env, custody, at, "run-c"))["destroy-retired"]).toBe("skipped (lease held)");
    expect(typeof (await runScheduled(db, env, custody, at + 2 * MIN, "run-d"))["destroy-retired"]).toBe("number");
  });
});

describe("broadcast keys", () => {
  it("rotate on their period, the old version retired through the grace and then destroyed", async () => {
    await call("PUT", "/v1/admin/policies", { json: { scope: "region", scopeId: "bcast-1", keyClass: "broadcast", rotationSeconds: 600, graceSeconds: 60 } });
    const { TestMeter } = await import("./helpers/test-meter");
    const meter = await TestMeter.enroll("bcast-1");
    await meter.connect();
    const first = (await meter.fetchKeys()).gbek!;
    const t0 = Date.now();
    const gbek = async () => (await env.DB.prepare("SELECT version, state FROM keys WHERE id = 'gbek:bcast-1:AES-128' ORDER BY version").all<{ version: number; state: string }>()).results.map((r) => `${r.version}:${r.state}`);
    await run(t0 + 11 * MIN);
    expect(await gbek()).toEqual(["1:retired", "2:active"]);
    const second = (await meter.fetchKeys()).gbek!;
    expect(second.version).toBe(2);
    expect(second.key).not.toEqual(first.key);
    await run(t0 + 13 * MIN);
    expect(await gbek()).toEqual(["1:destroyed", "2:active"]);
  });
});

describe("a scheduled run that dies half way", () => {
  it("leaves every item done or not done, and the next run finishes the rest, none twice", async () => {
    await call("PUT", "/v1/admin/policies", { json: { scope: "region", scopeId: "kill-1", keyClass: "authentication", rotationSeconds: 60 } });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await meterInput({ region: "kill-1" });
      await call("POST", "/v1/admin/meters", { json: m });
      ids.push(m.id);
    }
    // The store fails on the fourth meter's new version: the run dies there.
    await env.DB.prepare(`CREATE TRIGGER die_mid_run BEFORE INSERT ON keys WHEN NEW.owner_id = '${ids[3]}' AND NEW.class = 'ak' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`).run();
    const at = Date.now() + 2 * MIN;
    const db = database(env.DB);
    const custody = await custodyFor(env);
    await expect(runScheduled(db, env, custody, at, "dying-run")).rejects.toThrow();
    await env.DB.prepare("DROP TRIGGER die_mid_run").run();
    const states = async () => Promise.all(ids.map((id) => versions(id, "ak")));
    const afterDeath = await states();
    expect(afterDeath.every((v) => v.length <= 2)).toBe(true);
    const lease = await env.DB.prepare("SELECT COUNT(*) AS n FROM leases WHERE holder = 'dying-run'").first<{ n: number }>();
    expect(lease!.n).toBe(0);
    await runScheduled(db, env, custody, at, "next-run");
    expect(await states()).toEqual(ids.map(() => ["1:active", "2:new"]));
  });
});

describe("a backlog larger than one run", () => {
  it("is worked off over several runs, each doing a bounded amount", async () => {
    for (const keyClass of ["unicast", "authentication", "kek"]) {
      await call("PUT", "/v1/admin/policies", { json: { scope: "region", scopeId: "backlog-1", keyClass, rotationSeconds: 60 } });
    }
    const { publicKey, systemTitle } = await import("./helpers/meters");
    const key = await publicKey();
    const ids = Array.from({ length: 90 }, (_, i) => `BACKLOG-${i}`);
    const body = ids.map((id) => JSON.stringify({ id, systemTitle: systemTitle(), region: "backlog-1", suite: 1, identityPublicKey: key })).join("\n");
    expect((await call("POST", "/v1/admin/meters/bulk", { body, contentType: "application/x-ndjson" })).status).toBe(201);
    const db = database(env.DB);
    const custody = await custodyFor(env);
    const at = Date.now() + 2 * MIN;
    const done: number[] = [];
    for (let run = 0; run < 5; run++) {
      const n = (await runScheduled(db, env, custody, at, `backlog-${run}`))["rotate-keys"] as number;
      if (n === 0) break;
      done.push(n);
    }
    // Only due rows are read, so each run does a full step until the backlog is gone.
    expect(done).toEqual([200, 70]);
    const pending = await env.DB.prepare("SELECT COUNT(*) AS n FROM keys WHERE owner_id LIKE 'BACKLOG-%' AND state = 'new'").first<{ n: number }>();
    expect(pending!.n).toBe(270);
  });
});

describe("the membership rekey mode as policy", () => {
  it("turns an immediate program batched (and the cron flushes it per window) without touching the program", async () => {
    const program = await createProgram(4, "immediate");
    await call("PUT", "/v1/admin/policies", { json: { scope: "program", scopeId: program, keyClass: "group", rekeyMode: "batched", batchWindowSeconds: 60 } });
    const m = await meterInput();
    await call("POST", "/v1/admin/meters", { json: m });
    const queued = await members(program, { add: [m.id] });
    expect(queued.body).toMatchObject({ epoch: null, program: { pending: 1, epoch: 0 } });
    await run(Date.now() + 2 * MIN);
    expect((await call("GET", `/v1/admin/programs/${program}`)).body).toMatchObject({ pending: 0, epoch: 1, members: 1 });
    const bad = await call("PUT", "/v1/admin/policies", { json: { scope: "default", keyClass: "unicast", rekeyMode: "batched" } });
    expect([bad.status, bad.body.error.code]).toEqual([400, "bad_parameter"]);
  });
});
