import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toHex } from "../../functions/crypto";
import { createProgram, groupKeyOf, members } from "../helpers/groups";
import { enrolledClient } from "../helpers/sdk-meter";

const concentrator = (region: string) => env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(region));

describe("rekeys through the edge", () => {
  it("the key graph pushes each bundle to the concentrators of its members' regions, which answer from the cache", async () => {
    const program = await createProgram(2);
    const [a, b] = await Promise.all([enrolledClient("dist-1"), enrolledClient("dist-1")]);
    await members(program, { add: [a.id, b.id] });
    await a.client.rekey(program);
    await members(program, { remove: [b.id] });
    const cached = await runInDurableObject(concentrator("dist-1"), async (_i, state) => state.storage.get<{ epoch: number }>(`b:${program}`));
    expect(cached?.epoch).toBe(2);
    // a is one epoch behind and tells its leaf: its view is cut from the concentrator's cache.
    const got = await a.client.rekey(program);
    expect([got.epoch, toHex(got.key)]).toEqual([2, (await groupKeyOf(program))!.key]);
    const elsewhere = await runInDurableObject(concentrator("dist-2"), async (_i, state) => state.storage.get(`b:${program}`));
    expect(elsewhere).toBeUndefined();
  });

  it("announces new epochs over a hibernatable WebSocket to meters that subscribed", async () => {
    const program = await createProgram(4);
    const m = await enrolledClient("dist-3");
    const res = await exports.default.fetch(`http://gridkey.test/v1/edge/subscribe?region=dist-3&programs=${program}`, { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const heard = new Promise<string>((resolve) => ws.addEventListener("message", (e) => resolve(String(e.data))));
    await members(program, { add: [m.id] });
    expect(JSON.parse(await heard)).toEqual({ program, epoch: 1 });
    ws.close();
    const bad = await exports.default.fetch("http://gridkey.test/v1/edge/subscribe?region=dist-3", { headers: { upgrade: "websocket" } });
    expect(bad.status).toBe(400);
  });
});
