import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AuditContext } from "../../functions/audit-log";
import { database } from "../../functions/db";
import { changeMembers } from "../../functions/programs";
import { createProgram, groupKeyOf, members } from "../helpers/groups";
import { enrolledClient } from "../helpers/sdk-meter";

const ctx: AuditContext = { actor: { id: "test", role: "admin" }, requestId: "race" };

/**
 * A D1 binding whose first batch waits until the test opens the gate: the exact interleaving
 * of two requests that both read the registry before either writes, every time.
 */
function gatedD1() {
  let open!: () => void;
  let arrived!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const atBatch = new Promise<void>((r) => (arrived = r));
  let first = true;
  const d1 = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          if (first) {
            first = false;
            arrived();
            await gate;
          }
          return target.batch(statements);
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { db: database(d1), atBatch, open };
}

const count = async (action: string, program: string) =>
  (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = ? AND target_id = ?").bind(action, program).first<{ n: number }>())!.n;

describe("two membership changes that read the registry before either writes", () => {
  it("the same join: the later writer reads again instead of failing, and the meter is added and audited once", async () => {
    const program = await createProgram(2);
    const m = await enrolledClient("race-1");
    const slow = gatedD1();
    const a = changeMembers(slow.db, env, ctx, program, { add: [m.id], remove: [] });
    await slow.atBatch;
    expect((await members(program, { add: [m.id] })).status).toBe(200);
    slow.open();
    await expect(a).resolves.toMatchObject({ status: { members: 1, epoch: 1 } });
    expect(await count("program.member.add", program)).toBe(1);
    expect((await m.client.rekey(program)).epoch).toBe(1);
  });

  it("the same leave: one removal, one audit record; the later one is told the meter is not a member", async () => {
    const program = await createProgram(2);
    const [k, m] = await Promise.all([enrolledClient("race-2"), enrolledClient("race-2")]);
    await members(program, { add: [k.id, m.id] });
    const slow = gatedD1();
    const a = changeMembers(slow.db, env, ctx, program, { add: [], remove: [m.id] });
    await slow.atBatch;
    expect((await members(program, { remove: [m.id] })).status).toBe(200);
    slow.open();
    await expect(a).rejects.toMatchObject({ code: "not_a_member" });
    expect(await count("program.member.remove", program)).toBe(1);
    expect((await groupKeyOf(program))!.epoch).toBe(2);
    expect((await k.client.rekey(program)).epoch).toBe(2);
  });
});
