import { describe, expect, it } from "vitest";
import { signCwt } from "../../functions/central-signing";
import { fromHex, generateSigningKeyPair, sha256, toHex } from "../../functions/crypto";
import { sealDrCommand } from "../../functions/rekey-bundles";
import { encodeCommandPayload } from "../../wire/rekey";
import { SdkError } from "../../sdk";
import { call } from "../helpers/http";
import { createProgram, groupKeyOf, members } from "../helpers/groups";
import { enrolledClient } from "../helpers/sdk-meter";

describe("a DR program's key graph, end to end", () => {
  it("gives every member the group key through its session, and a new one to those left after a leave", async () => {
    const program = await createProgram(2);
    const meters = await Promise.all([1, 2, 3, 4, 5].map(() => enrolledClient()));
    const added = await members(program, { add: meters.map((m) => m.id) });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body.program).toMatchObject({ members: 5, epoch: 1, height: 3 });

    const first = await groupKeyOf(program);
    for (const m of meters) expect(toHex((await m.client.rekey(program)).key)).toBe(first!.key);

    const removed = await members(program, { remove: [meters[1]!.id] });
    expect(removed.body.epoch).toMatchObject({ epoch: 2, left: 1, joined: 0 });
    const second = await groupKeyOf(program);
    expect(second!.key).not.toBe(first!.key);
    for (const m of meters.filter((_, i) => i !== 1)) {
      const got = await m.client.rekey(program);
      expect([got.epoch, toHex(got.key)]).toEqual([2, second!.key]);
    }
    const gone = await meters[1]!.client.rekey(program).catch((e: unknown) => e);
    expect((gone as SdkError).code, String(gone)).toBe("not_a_member");
  });

  it("lets a joiner in without multicast wraps, and without the key from before it joined", async () => {
    const program = await createProgram(4);
    const a = await enrolledClient();
    await members(program, { add: [a.id] });
    const before = toHex((await a.client.rekey(program)).key);
    const b = await enrolledClient();
    const joined = await members(program, { add: [b.id] });
    expect(joined.body.epoch).toMatchObject({ wraps: 0, joined: 1 });
    const after = toHex((await b.client.rekey(program)).key);
    expect(after).not.toBe(before);
    expect(toHex((await a.client.rekey(program)).key)).toBe(after); // a moves forward by itself
  });

  it("batches: changes wait for the flush and then make one epoch", async () => {
    const program = await createProgram(4, "batched");
    const meters = await Promise.all([1, 2, 3].map(() => enrolledClient()));
    const queued = await members(program, { add: meters.map((m) => m.id) });
    expect(queued.body).toMatchObject({ epoch: null, program: { pending: 3, epoch: 0, members: 0 } });
    const flushed = await call("POST", `/v1/admin/programs/${program}/rekey`);
    expect(flushed.body).toMatchObject({ epoch: { epoch: 1, joined: 3 }, program: { pending: 0, members: 3 } });
    const key = (await groupKeyOf(program))!.key;
    for (const m of meters) expect(toHex((await m.client.rekey(program)).key)).toBe(key);
    const again = await call("POST", `/v1/admin/programs/${program}/rekey`);
    expect(again.body.epoch).toBeNull();
  });

  it("refuses bad membership changes, audits good ones, and destroys keys on delete", async () => {
    const program = await createProgram();
    const m = await enrolledClient();
    const unknown = await members(program, { add: ["MTR-none"] });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, "meter_not_found"]);
    const notMember = await members(program, { remove: [m.id] });
    expect([notMember.status, notMember.body.error.code]).toEqual([404, "not_a_member"]);
    await members(program, { add: [m.id] });
    const audit = await call("GET", "/v1/admin/audit?limit=1000");
    expect(audit.body.records.some((r: { action: string; targetId: string }) => r.action === "program.member.add" && r.targetId === program)).toBe(true);
    expect((await call("GET", `/v1/admin/programs/${program}`)).body.members).toBe(1);
    expect((await call("DELETE", `/v1/admin/programs/${program}`)).status).toBe(200);
    expect(await groupKeyOf(program)).toBeUndefined();
    expect((await call("GET", `/v1/admin/programs/${program}`)).body.error.code).toBe("program_not_found");
    const missing = await call("POST", "/v1/admin/programs/prg_none/members", { json: { add: [m.id] } });
    expect(missing.body.error.code).toBe("program_not_found");
  });
});

describe("DR commands under the group key", () => {
  it("every member opens a sealed command once; a departed member cannot", async () => {
    const program = await createProgram(2);
    const [a, b] = await Promise.all([enrolledClient(), enrolledClient()]);
    await members(program, { add: [a.id, b.id] });
    await a.client.rekey(program);
    await b.client.rekey(program);
    const command = "c2010000080000010000ff0200";
    const sealed = await call("POST", `/v1/admin/programs/${program}/commands`, { json: { command } });
    expect(sealed.status, JSON.stringify(sealed.body)).toBe(200);
    expect(sealed.body).toMatchObject({ epoch: 1, invocationCounter: 1 });
    const signed = fromHex(sealed.body.signed);
    for (const m of [a, b]) expect(toHex(m.client.openCommand(program, signed))).toBe(command);
    expect(() => a.client.openCommand(program, signed)).toThrow(expect.objectContaining({ code: "replayed_command" }));

    await members(program, { remove: [b.id] });
    await a.client.rekey(program);
    const next = await call("POST", `/v1/admin/programs/${program}/commands`, { json: { command } });
    expect(next.body).toMatchObject({ epoch: 2, invocationCounter: 1 });
    const nextSigned = fromHex(next.body.signed);
    expect(toHex(a.client.openCommand(program, nextSigned))).toBe(command);
    expect(() => b.client.openCommand(program, nextSigned)).toThrow(expect.objectContaining({ code: "decryption_failed" }));

    const empty = await createProgram();
    const none = await call("POST", `/v1/admin/programs/${empty}/commands`, { json: { command } });
    expect([none.status, none.body.error.code]).toEqual([409, "invalid_state"]);
    const bad = await call("POST", `/v1/admin/programs/${program}/commands`, { json: { command: "xyz" } });
    expect(bad.body.error.code).toBe("bad_hex");
  });
});

describe("revoking a member", () => {
  it("takes it out of every program it was in, each rekeyed, in the same call", async () => {
    const [p1, p2] = [await createProgram(2), await createProgram(4, "batched")];
    const [a, b] = await Promise.all([enrolledClient(), enrolledClient()]);
    await members(p1, { add: [a.id, b.id] });
    await members(p2, { add: [a.id, b.id] });
    await call("POST", `/v1/admin/programs/${p2}/rekey`);
    const before = (await groupKeyOf(p1))!;
    expect((await call("POST", `/v1/admin/meters/${b.id}/revoke`, { json: { reason: "stolen" } })).status).toBe(200);
    const after = (await groupKeyOf(p1))!;
    expect(after.epoch).toBe(before.epoch + 1);
    expect((await call("GET", `/v1/admin/programs/${p1}`)).body.members).toBe(1);
    expect((await call("GET", `/v1/admin/programs/${p2}`)).body).toMatchObject({ members: 2, pending: 1 }); // batched: leaves at the flush
    await call("POST", `/v1/admin/programs/${p2}/rekey`);
    expect((await call("GET", `/v1/admin/programs/${p2}`)).body).toMatchObject({ members: 1, pending: 0 });
    expect(toHex((await a.client.rekey(p1)).key)).toBe(after.key);
  });
});

describe("suspending a member", () => {
  it("takes it out of its programs' key graphs, reversibly: resuming brings it back", async () => {
    const program = await createProgram(2);
    const [a, b] = await Promise.all([enrolledClient(), enrolledClient()]);
    await members(program, { add: [a.id, b.id] });
    await b.client.rekey(program);
    const before = (await groupKeyOf(program))!;
    await call("POST", `/v1/admin/meters/${b.id}/suspend`);
    const during = (await groupKeyOf(program))!;
    expect([during.epoch, during.key === before.key]).toEqual([before.epoch + 1, false]);
    expect((await call("GET", `/v1/admin/programs/${program}`)).body.members).toBe(1);
    await call("POST", `/v1/admin/meters/${b.id}/resume`);
    expect((await call("GET", `/v1/admin/programs/${program}`)).body.members).toBe(2);
    const after = await b.client.rekey(program);
    expect(toHex(after.key)).toBe((await groupKeyOf(program))!.key);
    expect(toHex(after.key)).not.toBe(during.key); // its rejoin moved the key forward: it never held `during`
    // Revoking a suspended member ends its registration without touching the graph twice.
    await call("POST", `/v1/admin/meters/${b.id}/suspend`);
    const epoch = (await groupKeyOf(program))!.epoch;
    await call("POST", `/v1/admin/meters/${b.id}/revoke`);
    expect((await groupKeyOf(program))!.epoch).toBe(epoch);
    expect((await members(program, { remove: [b.id] })).body.error.code).toBe("not_a_member");
  });

  it("refuses a command a member forged under the group key it holds, or one signed for another program", async () => {
    const program = await createProgram(2);
    const [a, c] = await Promise.all([enrolledClient(), enrolledClient()]);
    await members(program, { add: [a.id, c.id] });
    await a.client.rekey(program);
    await c.client.rekey(program);
    const command = "c2010000080000010000ff0200";
    // A member holds the group key, so it can seal a command the others would decrypt: the
    // central signature is what it cannot make, bare or wrapped in a signature of its own.
    const key = a.client.groupKey(program)!;
    const forged = await sealDrCommand(program, key.key, 99, fromHex("c2010000080000010000ff0201"));
    for (const fake of [forged, await selfSigned(program, forged)]) {
      expect(() => c.client.openCommand(program, fake)).toThrow(expect.objectContaining({ code: "command_untrusted" }));
    }
    // A genuine command of another program is refused here.
    const other = await createProgram(2);
    await members(other, { add: [c.id] });
    const otherSigned = fromHex((await call("POST", `/v1/admin/programs/${other}/commands`, { json: { command } })).body.signed);
    expect(() => c.client.openCommand(program, otherSigned)).toThrow(expect.objectContaining({ code: "command_untrusted" }));
    // The genuine one opens.
    const genuine = fromHex((await call("POST", `/v1/admin/programs/${program}/commands`, { json: { command } })).body.signed);
    expect(toHex(c.client.openCommand(program, genuine))).toBe(command);
  });
});

/** The forger's own key and kid in a well-formed COSE_Sign1: the shape is right, the signer is not central. */
async function selfSigned(program: string, apdu: Uint8Array): Promise<Uint8Array> {
  const { privateKey, publicKey } = await generateSigningKeyPair("P-256");
  return signCwt({ kid: (await sha256(publicKey)).slice(0, 8), publicKey, privateKey }, encodeCommandPayload({ program, apdu }));
}
