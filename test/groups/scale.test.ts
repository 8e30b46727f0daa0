import { describe, expect, it } from "vitest";
import { toHex } from "../../functions/crypto";
import { call } from "../helpers/http";
import { createProgram, groupKeyOf, members } from "../helpers/groups";
import { publicKey, systemTitle } from "../helpers/meters";
import { enrolledClient } from "../helpers/sdk-meter";

const N = 100_000;
const CHUNK = 10_000;

describe("a program of 100,000 members, locally", () => {
  it("is built 10,000 members at a time, and a leave still costs at most d·⌈log_d n⌉ wraps", async () => {
    const key = await publicKey();
    const program = await createProgram(4);
    const meter = await enrolledClient();
    await members(program, { add: [meter.id] });
    for (let start = 0; start < N; start += CHUNK) {
      const ids = Array.from({ length: CHUNK }, (_, i) => `BIG-${start + i}`);
      const body = ids.map((id) => JSON.stringify({ id, systemTitle: systemTitle(), region: "north-1", suite: 1, identityPublicKey: key })).join("\n");
      expect((await call("POST", "/v1/admin/meters/bulk", { body, contentType: "application/x-ndjson" })).status).toBe(201);
      const added = await members(program, { add: ids });
      expect(added.status, JSON.stringify(added.body).slice(0, 300)).toBe(200);
    }
    const status = (await call("GET", `/v1/admin/programs/${program}`)).body;
    expect(status).toMatchObject({ members: N + 1, height: 9 });
    expect(toHex((await meter.client.rekey(program)).key)).toBe((await groupKeyOf(program))!.key);

    const left = await members(program, { remove: ["BIG-31337"] });
    expect(left.body.epoch.wraps).toBeLessThanOrEqual(4 * Math.ceil(Math.log(N + 1) / Math.log(4)));
    const after = await meter.client.rekey(program);
    expect(toHex(after.key)).toBe((await groupKeyOf(program))!.key);
  }, 240_000);
});
