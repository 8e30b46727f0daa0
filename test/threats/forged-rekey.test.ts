// Threat model (docs/threat-model.md): whoever carries rekeys between central and a meter
// (a gateway, a compromised concentrator that caches and serves them, anyone on the path)
// cannot alter, forge or replay one. The meter applies only what central signed and what
// is proven to belong to the signed bundle.
import { describe, expect, it } from "vitest";
import { decode, encode } from "../../edhoc/cbor";
import { signCwt } from "../../functions/central-signing";
import { generateSigningKeyPair, toHex } from "../../functions/crypto";
import { rpcValue } from "../../functions/rpc";
import { decodeCwt } from "../../wire/cwt";
import { decodeHeader, decodeMemberView, encodeHeader, encodeMemberView } from "../../wire/rekey";
import { createProgram, graphOf, groupKeyOf, members } from "../helpers/groups";
import { enrolledClient } from "../helpers/sdk-meter";

type Client = Awaited<ReturnType<typeof enrolledClient>>["client"];
const groups = (client: Client) => client["groups"];
const codeOf = (f: () => void) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return "applied";
};

/** A meter holding epoch 1 of a program, and the genuine view of epoch 2 it is owed. */
async function meterOneEpochBehind() {
  const program = await createProgram(2);
  const [a, b, c] = await Promise.all([enrolledClient(), enrolledClient(), enrolledClient()]);
  await members(program, { add: [a.id, b.id] });
  await a.client.rekey(program);
  await members(program, { remove: [b.id], add: [c.id] });
  const update = await rpcValue(graphOf(program).memberUpdate(a.id, 1, "threat-test"));
  if (update.kind !== "view") throw new Error(`expected a view, got ${update.kind}`);
  return { program, meter: a.client, view: update.view };
}

/** The view with its signed header replaced by `header` signed under a key that is not central's. */
async function resignedView(view: Uint8Array, edit: (h: ReturnType<typeof decodeHeader>) => void = () => {}) {
  const v = decodeMemberView(decode(view));
  const cwt = decodeCwt(v.signedHeader);
  const header = decodeHeader(cwt.payload);
  edit(header);
  const forger = await generateSigningKeyPair("P-256");
  // Same kid as central's: a forger would claim to be the trust anchor.
  const signedHeader = await signCwt({ kid: cwt.signerKid, publicKey: forger.publicKey, privateKey: forger.privateKey }, encodeHeader(header));
  return encode(encodeMemberView({ ...v, signedHeader }));
}

describe("rekeys on the way to a meter", () => {
  it("an altered entry fails its inclusion proof and is not applied", async () => {
    const { program, meter, view } = await meterOneEpochBehind();
    const v = decodeMemberView(decode(view));
    const item = v.items.find((i) => i.entry.length > 8)!;
    const entry = item.entry.slice();
    entry[entry.length - 1]! ^= 0x01;
    const altered = encode(encodeMemberView({ ...v, items: v.items.map((i) => (i === item ? { ...i, entry } : i)) }));
    expect(codeOf(() => groups(meter).apply(program, { kind: "view", view: altered }))).toBe("rekey_invalid");
    expect(groups(meter).epochOf(program)).toBe(1);
  });

  it("a header signed by anyone but central is refused, even claiming central's kid", async () => {
    const { program, meter, view } = await meterOneEpochBehind();
    const forged = await resignedView(view);
    expect(codeOf(() => groups(meter).apply(program, { kind: "view", view: forged }))).toBe("rekey_untrusted");
    // Also a header that lies about the epoch (to jump a meter ahead or stall it).
    const lying = await resignedView(view, (h) => (h.epoch += 5));
    expect(codeOf(() => groups(meter).apply(program, { kind: "view", view: lying }))).toBe("rekey_untrusted");
    expect(groups(meter).epochOf(program)).toBe(1);
  });

  it("a forged path snapshot is refused: a relay cannot hand a meter keys of its choosing", async () => {
    const { program, meter, view } = await meterOneEpochBehind();
    const centralKid = decodeCwt(decodeMemberView(decode(view)).signedHeader).signerKid;
    const forger = await generateSigningKeyPair("P-256");
    const fake = await signCwt({ kid: centralKid, publicKey: forger.publicKey, privateKey: forger.privateKey }, new Uint8Array([0xa0]));
    expect(codeOf(() => groups(meter).apply(program, { kind: "snapshot", signed: fake }))).toBe("rekey_untrusted");
    expect(groups(meter).epochOf(program)).toBe(1);
  });

  it("the genuine view applies once; replaying it (or an older one) is refused", async () => {
    const { program, meter, view } = await meterOneEpochBehind();
    groups(meter).apply(program, { kind: "view", view });
    const held = groups(meter).groupKey(program)!;
    const current = (await groupKeyOf(program))!;
    expect([held.epoch, toHex(held.key)]).toEqual([current.epoch, current.key]);
    expect(codeOf(() => groups(meter).apply(program, { kind: "view", view }))).toBe("rekey_out_of_order");
  });
});
