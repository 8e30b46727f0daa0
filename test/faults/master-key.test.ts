import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { regionTree } from "../../functions/region-tree";
import { call } from "../helpers/http";
import { createProgram, expectAllDerive, graphOf, members } from "../helpers/groups";
import { enrolledClient } from "../helpers/sdk-meter";

type Meter = Awaited<ReturnType<typeof enrolledClient>>;
const secrets = env as { MASTER_KEYS: string; MASTER_KEY_CURRENT: string };
const nodeVersions = (stub: ReturnType<typeof graphOf>) =>
  runInDurableObject(stub, async (_i, state) => state.storage.sql.exec<{ mk: number }>("SELECT DISTINCT mk FROM nodes ORDER BY mk").toArray().map((r) => r.mk));

describe("a master-key rotation while memberships change", () => {
  it("re-seals the key graphs too, so once it reports done the old version can go and no key is lost", async () => {
    const saved = { ...secrets };
    const region = "mk-rot";
    const program = await createProgram(2);
    const pool = await Promise.all(Array.from({ length: 8 }, () => enrolledClient(region)));
    await members(program, { add: pool.slice(0, 4).map((m) => m.id) });
    await expectAllDerive(program, pool.slice(0, 4));
    try {
      // Step 1 of the runbook: version 2 becomes current (version 1 still held).
      secrets.MASTER_KEY_CURRENT = "2";
      // Joins and leaves run while the rotation re-seals, chunk by chunk.
      const changes = Promise.all([
        members(program, { add: [pool[4]!.id] }),
        members(program, { remove: [pool[0]!.id] }),
        members(program, { add: [pool[5]!.id, pool[6]!.id] }),
        members(program, { remove: [pool[1]!.id] }),
      ]);
      const rewrap = (async () => {
        for (let i = 0; i < 200; i++) {
          const step = await call("POST", "/v1/admin/master-key/rewrap", { json: { limit: 25 } });
          expect(step.status, JSON.stringify(step.body)).toBe(200);
          if (step.body.remaining === 0) return;
        }
        throw new Error("the rotation never finished");
      })();
      const [replies] = await Promise.all([changes, rewrap]);
      for (const r of replies) expect(r.status, JSON.stringify(r.body)).toBe(200);
      const status = await call("GET", "/v1/admin/master-key");
      expect(status.body).toMatchObject({ current: 2, pending: 0, unreadable: 0, complete: true });
      // Done means done: the program's tree and the region's tree are under version 2 only.
      expect(await nodeVersions(graphOf(program))).toEqual([2]);
      expect(await nodeVersions(regionTree(env, region))).toEqual([2]);

      // Step 3: version 1 is removed. Nothing sealed under it may be needed any more.
      secrets.MASTER_KEYS = saved.MASTER_KEYS.split(",").filter((e) => e.startsWith("2:")).join(",");
      expect((await call("GET", "/v1/admin/master-key")).body).toMatchObject({ held: [2], unreadable: 0 });
      await evictDurableObject(env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(region))); // sessions are reloaded from storage
      const now = pool.filter((_, i) => ![0, 1, 7].includes(i));
      await expectAllDerive(program, now);
      // The graph keeps working under the new version alone: a leave and a join, each an epoch.
      const more = await members(program, { add: [pool[7]!.id], remove: [pool[2]!.id] });
      expect(more.status, JSON.stringify(more.body)).toBe(200);
      await expectAllDerive(program, [...now.filter((m) => m !== pool[2]), pool[7]!]);
    } finally {
      secrets.MASTER_KEYS = saved.MASTER_KEYS;
      secrets.MASTER_KEY_CURRENT = saved.MASTER_KEY_CURRENT;
    }
  });
});
