import { describe, expect, it } from "vitest";
import { CborMap } from "../edhoc/cbor";
import { call } from "./helpers/http";
import { createProgram, groupKeyOf, members } from "./helpers/groups";
import { TestMeter } from "./helpers/test-meter";

describe("counter budgets", () => {
  it("a GUEK is rotated before its budget runs out, and a frame past the budget is refused", async () => {
    await call("PUT", "/v1/admin/policies", { json: { scope: "region", scopeId: "budget-1", keyClass: "unicast", maxInvocations: 10 } });
    const meter = await TestMeter.enroll("budget-1");
    await meter.connect();
    const keys = await meter.fetchKeys();
    const upload = async (ic: number) => (await meter.request("reading", new CborMap([["apdu", await meter.reading(keys.guek!.key, keys.ak!.key, ic)]]))).response;
    expect((await upload(8))?.ok).toBe(true);
    expect((await call("GET", `/v1/admin/meters/${meter.id}/keys`)).body.keys.filter((k: { class: string }) => k.class === "guek")).toHaveLength(1);
    expect((await upload(9))?.ok).toBe(true); // 90 % of the budget: a new GUEK is on its way
    const guek = (await call("GET", `/v1/admin/meters/${meter.id}/keys`)).body.keys.filter((k: { class: string }) => k.class === "guek");
    expect(guek.map((k: { version: number; state: string }) => [k.version, k.state])).toEqual([[1, "active"], [2, "new"]]);
    expect((await upload(11))).toMatchObject({ ok: false, code: "reading_rejected" });
    expect((await meter.fetchKeys()).guek).toMatchObject({ version: 2, state: "new" });
  });

  it("a program's group key is rotated before its command counter budget runs out", async () => {
    const program = await createProgram(4);
    await call("PUT", "/v1/admin/policies", { json: { scope: "program", scopeId: program, keyClass: "group", maxInvocations: 10 } });
    const meter = await TestMeter.enroll();
    await members(program, { add: [meter.id] });
    const first = (await groupKeyOf(program))!;
    for (let i = 1; i <= 8; i++) expect((await call("POST", `/v1/admin/programs/${program}/commands`, { json: { command: "c0" } })).body.invocationCounter).toBe(i);
    expect((await groupKeyOf(program))!.key).toBe(first.key);
    expect((await call("POST", `/v1/admin/programs/${program}/commands`, { json: { command: "c0" } })).body).toMatchObject({ invocationCounter: 9, epoch: 1 });
    const rotated = (await groupKeyOf(program))!;
    expect([rotated.epoch, rotated.key === first.key]).toEqual([2, false]);
    expect((await call("POST", `/v1/admin/programs/${program}/commands`, { json: { command: "c0" } })).body).toMatchObject({ invocationCounter: 1, epoch: 2 });
  });
});
