/**
 * Fuzzing the meter SDK's decoders of what the server sends: the concentrator credential
 * (CWT), session responses, delivered key_data, rekey snapshots and views, DR commands,
 * DLMS frames and HTTP error bodies. The meter is the other end of every parser here: each
 * must return a value or throw SdkError (the SDK's one error type), never a TypeError, and
 * must never install anything from an altered input.
 */
import fc from "fast-check";
import { aeskw } from "@noble/ciphers/aes.js";
import { p256 } from "@noble/curves/nist.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { CborMap, encode } from "../../../edhoc/cbor";
import { makeCcs } from "../../../edhoc/credentials";
import { encodeCwt, es256ProtectedHeader, sigStructure } from "../../../wire/cwt";
import { encodeKeyData } from "../../../wire/key-transfer";
import { merkleRoot } from "../../../wire/merkle";
import { encodeCoverEntry, encodeCoverHeader, encodeCoverSnapshot } from "../../../wire/cover";
import { DR_AK_LABEL, DR_COMMAND_SC, encodeCommandPayload, encodeEntry, encodeHeader, encodeMemberView, encodeSnapshot, type Snapshot } from "../../../wire/rekey";
import { sealResponse, type SessionKeys } from "../../../wire/session-record";
import { CredentialCache, GroupKeys, MeterClient, nobleSessionAead, openGloCipheringApdu, SdkError, sealGloCiphering, trustAnchorOf, unwrapKeyData, verifyCredentialCwt } from "../../../sdk";
import { openSessionResponse } from "../../../sdk/handshake";
import { errorOf } from "../../../sdk/http";
import { budgetMs, bytes, cborSequence, cborValue, check, jsonValue, mutationOf, onlyRejects, onlyThrows, params } from "../fuzz";

const PURE = 1000;
/** Cases that sign or verify an ES256 signature (a few milliseconds each with noble). */
const SIGNED = 300;

const rand = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const centralKey = p256.utils.randomSecretKey();
const anchor = trustAnchorOf({ kid: Uint8Array.of(9, 9, 9, 9), publicKey: p256.getPublicKey(centralKey) });

/** COSE_Sign1 by central (the trust anchor), as wire/cwt.ts lays it out. */
function signed(payload: Uint8Array): Uint8Array {
  const protectedHeader = es256ProtectedHeader();
  const signature = p256.sign(sigStructure(protectedHeader, payload), centralKey, { prehash: true });
  return encodeCwt({ protectedHeader, signerKid: anchor.kid, payload, signature });
}

describe("fuzz: SDK, concentrator credential", () => {
  const point = p256.getPublicKey(p256.utils.randomSecretKey(), false);
  const ccs = makeCcs({ subject: "north-1", kid: Uint8Array.of(0x32), curve: "P-256", x: point.slice(1, 33), y: point.slice(33) }).bytes;

  it("verifyCredentialCwt: the credential only for the real CWT, else an SdkError", { timeout: budgetMs(SIGNED, 10) }, async () => {
    const real = signed(ccs);
    await check(
      fc.property(fc.oneof(mutationOf(real), bytes()), (cwt) => {
        const credential = onlyThrows(() => verifyCredentialCwt(cwt, anchor), SdkError);
        if (credential) expect(credential.bytes).toEqual(ccs);
      }),
      params(SIGNED),
    );
  });

  it("verifyCredentialCwt: any payload central signs (mutated CCS, any CBOR) is a credential or an SdkError", { timeout: budgetMs(SIGNED, 10) }, async () => {
    await check(
      fc.property(fc.oneof(mutationOf(ccs), cborValue.map((v) => encode(v))), (payload) => void onlyThrows(() => verifyCredentialCwt(signed(payload), anchor), SdkError)),
      params(SIGNED),
    );
  });

  it("trust anchors from any JSON-ish input: an anchor or an SdkError", { timeout: budgetMs(PURE, 1) }, async () => {
    const field = fc.oneof(fc.string({ maxLength: 140 }), fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF"), maxLength: 140 }), bytes(70));
    await check(
      fc.property(field, field, fc.option(fc.string({ maxLength: 8 })), (kid, publicKey, alg) => {
        onlyThrows(() => new CredentialCache({ kid, publicKey, ...(alg === null ? {} : { alg }) }), SdkError);
      }),
      params(PURE),
    );
  });
});

describe("fuzz: SDK, session responses and delivered keys", () => {
  const keys: SessionKeys = { keyI2R: rand(16), keyR2I: rand(16), ivI2R: rand(12), ivR2I: rand(12) };
  const cR = Uint8Array.of(1, 2, 3, 4);

  it("openSessionResponse: the response only when unchanged, else an SdkError", { timeout: budgetMs(PURE, 3) }, async () => {
    const real = await sealResponse(nobleSessionAead, keys, cR, 3, { ok: true, result: new CborMap([["kind", "current"]]) });
    await check(
      fc.asyncProperty(fc.oneof(mutationOf(real), bytes()), async (bytesIn) => {
        const opened = await onlyRejects(() => openSessionResponse(keys, cR, 3, bytesIn), SdkError);
        if (opened) expect(bytesIn).toEqual(real);
      }),
      params(PURE),
    );
  });

  it("unwrapKeyData: real key_data mutated, any key list: keys only when unchanged, else an SdkError", { timeout: budgetMs(PURE, 3) }, async () => {
    const kek = rand(16);
    const guek = rand(16);
    const ak = rand(16);
    const real = encodeKeyData([
      { keyId: 0, wrapped: aeskw(kek).encrypt(guek) },
      { keyId: 2, wrapped: aeskw(kek).encrypt(ak) },
    ]);
    const list = [
      { keyClass: "guek" as const, dlmsKeyId: 0, keyId: "k1", version: 1, state: "active" },
      { keyClass: "ak" as const, dlmsKeyId: 2, keyId: "k2", version: 1, state: "active" },
    ];
    await check(
      fc.property(fc.oneof(mutationOf(real), bytes()), fc.boolean(), (keyData, wrongKek) => {
        const out = onlyThrows(() => unwrapKeyData(keyData, list, wrongKek ? [rand(16), kek] : [kek]), SdkError);
        if (out) expect(out.map((k) => k.key)).toEqual([guek, ak]);
      }),
      params(PURE),
    );
  });

  it("openGloCipheringApdu (the meter's DLMS): authenticated frames open only unchanged, else an SdkError", { timeout: budgetMs(PURE, 3) }, async () => {
    const dlmsKeys = { ek: rand(16), ak: rand(16) };
    const plaintext = rand(20);
    const header = { systemTitle: rand(8), securityControl: 0x31, invocationCounter: 5 };
    const frames = [sealGloCiphering(header, dlmsKeys, plaintext), sealGloCiphering({ ...header, securityControl: 0x11 }, dlmsKeys, plaintext)];
    await check(
      fc.property(fc.oneof(...frames.map(mutationOf), bytes()), (apdu) => {
        const opened = onlyThrows(() => openGloCipheringApdu(apdu, dlmsKeys), SdkError);
        if (opened && (opened.header.securityControl & 0x10) !== 0) expect(opened.plaintext).toEqual(plaintext);
      }),
      params(PURE),
    );
  });

  it("errorOf: any HTTP error response becomes an SdkError (returned, never thrown)", { timeout: budgetMs(PURE, 3) }, async () => {
    const type = fc.constantFrom("application/json", "application/edhoc+cbor-seq", "text/plain", "", "application/json; charset=utf-8");
    const body = fc.oneof(bytes(), jsonValue.map((v) => new TextEncoder().encode(JSON.stringify(v) ?? "")), cborValue.map((v) => encode(v)));
    await check(
      fc.asyncProperty(fc.integer({ min: 400, max: 599 }), type, body, fc.string({ maxLength: 70 }), async (status, contentType, payload, header) => {
        const headers: Record<string, string> = { "gridkey-error": header.replace(/[^\x20-\x7e]/g, "") };
        if (contentType) headers["content-type"] = contentType;
        const e = await errorOf(new Response(payload, { status, headers }));
        expect(e).toBeInstanceOf(SdkError);
        expect(e.code).toMatch(/^[a-z][a-z0-9_]{0,63}$/);
      }),
      params(PURE),
    );
  });
});

describe("fuzz: SDK, rekey snapshots, views and DR commands", () => {
  const program = "prog_fuzz";
  const kek = rand(16);
  const [l0, l1, r1, r2] = [rand(16), rand(16), rand(16), rand(16)];
  void l1;
  const snapshot: Snapshot = {
    program,
    epoch: 1,
    height: 1,
    degree: 2,
    leaf: { level: 0, index: 0, version: 1 },
    leafWrapped: aeskw(kek).encrypt(l0),
    path: [{ node: { level: 1, index: 0, version: 1 }, wrapped: aeskw(l0).encrypt(r1) }],
  };
  const snapshotPayload = encodeSnapshot(snapshot);
  const entry = encodeEntry({ kind: "wrap", node: { level: 1, index: 0, version: 2 }, under: { level: 0, index: 0, version: 1 }, wrapped: aeskw(l0).encrypt(r2) });
  const headerPayload = encodeHeader({ program, epoch: 2, height: 1, degree: 2, entries: 1, root: merkleRoot(sha256, [entry]) });
  const view = encode(encodeMemberView({ signedHeader: signed(headerPayload), items: [{ index: 0, entry, proof: [] }] }));
  const holder = () => {
    const g = new GroupKeys(anchor, () => [kek]);
    g.apply(program, { kind: "snapshot", signed: signed(snapshotPayload) });
    return g;
  };

  it("regression: the real snapshot and view give the group keys of epochs 1 and 2", () => {
    const g = holder();
    expect(g.groupKey(program)).toEqual({ epoch: 1, key: r1 });
    g.apply(program, { kind: "view", view });
    expect(g.groupKey(program)).toEqual({ epoch: 2, key: r2 });
  });

  it("snapshots: signed bytes mutated: installed only when unchanged, else an SdkError", { timeout: budgetMs(SIGNED, 20) }, async () => {
    await check(
      fc.property(fc.oneof(mutationOf(signed(snapshotPayload)), bytes()), (input) => {
        const g = new GroupKeys(anchor, () => [kek]);
        onlyThrows(() => g.apply(program, { kind: "snapshot", signed: input }), SdkError);
        const key = g.groupKey(program);
        if (key) expect(key).toEqual({ epoch: 1, key: r1 });
      }),
      params(SIGNED),
    );
  });

  it("snapshots: any payload central signs (mutated real ones, any CBOR): applied or an SdkError", { timeout: budgetMs(SIGNED, 20) }, async () => {
    await check(
      fc.property(fc.oneof(mutationOf(snapshotPayload), cborValue.map((v) => encode(v))), (payload) => {
        onlyThrows(() => new GroupKeys(anchor, () => [kek]).apply(program, { kind: "snapshot", signed: signed(payload) }), SdkError);
      }),
      params(SIGNED),
    );
  });

  it("views: mutated, or re-signed with a mutated header, or with mutated entries: the new key only when real, else an SdkError", { timeout: budgetMs(SIGNED, 20) }, async () => {
    const resigned = mutationOf(headerPayload).map((h) => encode(encodeMemberView({ signedHeader: signed(h), items: [{ index: 0, entry, proof: [] }] })));
    const otherEntries = fc.tuple(mutationOf(entry), fc.nat(3)).map(([e, index]) => encode(encodeMemberView({ signedHeader: signed(headerPayload), items: [{ index, entry: e, proof: [] }] })));
    await check(
      fc.property(fc.oneof(mutationOf(view), resigned, otherEntries, cborValue.map((v) => encode(v))), (input) => {
        const g = holder();
        onlyThrows(() => g.apply(program, { kind: "view", view: input }), SdkError);
        const key = g.groupKey(program);
        expect(key).toEqual(key?.epoch === 2 ? { epoch: 2, key: r2 } : { epoch: 1, key: r1 });
      }),
      params(SIGNED),
    );
  });

  it("DR commands: a mutated real command (signed bytes, or the APDU re-signed) opens only unchanged, else an SdkError", { timeout: budgetMs(SIGNED, 20) }, async () => {
    const ak = hmac(sha256, r1, new TextEncoder().encode(DR_AK_LABEL)).slice(0, 16);
    const command = rand(24);
    const apdu = sealGloCiphering({ systemTitle: sha256(new TextEncoder().encode(program)).slice(0, 8), securityControl: DR_COMMAND_SC, invocationCounter: 10 }, { ek: r1, ak }, command);
    const real = signed(encodeCommandPayload({ program, apdu }));
    const resigned = fc.oneof(mutationOf(apdu).map((a) => encodeCommandPayload({ program, apdu: a })), mutationOf(encodeCommandPayload({ program, apdu })), cborValue.map((v) => encode(v))).map(signed);
    const g = holder();
    await check(
      fc.property(fc.oneof(mutationOf(real), resigned, bytes()), (input) => {
        const opened = onlyThrows(() => holder().openCommand(program, input), SdkError);
        if (opened) expect(opened).toEqual(command);
        onlyThrows(() => g.openCommand(program, input), SdkError); // one holder: replays are refused too
      }),
      params(SIGNED),
    );
  });
});

describe("fuzz: SDK, cover-keyed programs over a region tree", () => {
  const program = "prog_cover";
  const region = "r-fuzz";
  const kek = rand(16);
  const [leaf, root, k1, k2] = [rand(16), rand(16), rand(16), rand(16)];
  // The region tree (degree 2, height 1): this meter at leaf 0, the root at version 1.
  const regionSnapshot = encodeSnapshot({
    program: `region:${region}`,
    epoch: 1,
    height: 1,
    degree: 2,
    leaf: { level: 0, index: 0, version: 1 },
    leafWrapped: aeskw(kek).encrypt(leaf),
    path: [{ node: { level: 1, index: 0, version: 1 }, wrapped: aeskw(leaf).encrypt(root) }],
  });
  const snapshot = encodeCoverSnapshot({ program, epoch: 1, wrapped: aeskw(kek).encrypt(k1) });
  const entry = encodeCoverEntry({ kind: "cover-wrap", version: 2, region, level: 1, index: 0, underVersion: 1, wrapped: aeskw(root).encrypt(k2) });
  const header = encodeCoverHeader({ program, epoch: 2, regionDegree: 2, entries: 1, root: merkleRoot(sha256, [entry]) });
  const view = encode(encodeMemberView({ signedHeader: signed(header), items: [{ index: 0, entry, proof: [] }] }));
  const holder = () => {
    const g = new GroupKeys(anchor, () => [kek], region);
    g.apply(`region:${region}`, { kind: "snapshot", signed: signed(regionSnapshot) });
    g.apply(program, { kind: "snapshot", signed: signed(snapshot) });
    return g;
  };

  it("regression: the real cover snapshot and view give the program keys of epochs 1 and 2", () => {
    const g = holder();
    expect(g.groupKey(program)).toEqual({ epoch: 1, key: k1 });
    g.apply(program, { kind: "view", view });
    expect(g.groupKey(program)).toEqual({ epoch: 2, key: k2 });
  });

  it("cover snapshots and views: mutated or re-signed mutated: the new key only when real, else an SdkError", { timeout: budgetMs(SIGNED, 20) }, async () => {
    const resignedHeader = mutationOf(header).map((h) => encode(encodeMemberView({ signedHeader: signed(h), items: [{ index: 0, entry, proof: [] }] })));
    const otherEntries = fc.tuple(mutationOf(entry), fc.nat(3)).map(([e, index]) => encode(encodeMemberView({ signedHeader: signed(header), items: [{ index, entry: e, proof: [] }] })));
    await check(
      fc.property(fc.oneof(mutationOf(view), resignedHeader, otherEntries, cborValue.map((v) => encode(v))), fc.oneof(mutationOf(snapshot), cborValue.map((v) => encode(v))), (input, snap) => {
        const g = holder();
        onlyThrows(() => g.apply(program, { kind: "view", view: input }), SdkError);
        const key = g.groupKey(program);
        expect(key).toEqual(key?.epoch === 2 ? { epoch: 2, key: k2 } : { epoch: 1, key: k1 });
        const fresh = holder();
        onlyThrows(() => fresh.apply(program, { kind: "snapshot", signed: signed(snap) }), SdkError);
        const after = fresh.groupKey(program);
        if (after) expect(after.key.length).toBe(16);
      }),
      params(SIGNED),
    );
  });
});

describe("fuzz: SDK, a MeterClient against a hostile server", () => {
  /**
   * Every answer the client gets (credential, message_2, session responses) is drawn from
   * the generators: any status, any content type, any body, including a CWT central really
   * signed. Whatever the server says, each call rejects with an SdkError or succeeds.
   */
  it("connect, fetchKeys, rekey and request: an SdkError, never anything else", { timeout: budgetMs(SIGNED, 30) }, async () => {
    const point = p256.getPublicKey(p256.utils.randomSecretKey(), false);
    const ccs = makeCcs({ subject: "north-1", kid: Uint8Array.of(0x32), curve: "P-256", x: point.slice(1, 33), y: point.slice(33) }).bytes;
    const realCwt = signed(ccs);
    const answer = fc.record({
      status: fc.constantFrom(200, 200, 200, 204, 400, 401, 403, 404, 409, 413, 500, 503),
      type: fc.constantFrom("application/cwt", "application/edhoc+cbor-seq", "application/gridkey-session+cbor-seq", "application/json", "text/plain", ""),
      body: fc.oneof(bytes(120), cborSequence, mutationOf(realCwt), fc.constant(realCwt), jsonValue.map((v) => new TextEncoder().encode(JSON.stringify(v) ?? ""))),
    });
    await check(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 6 }), fc.constantFrom("connect", "fetchKeys", "rekey", "request"), async (answers, call) => {
        let i = 0;
        const client = new MeterClient({
          baseUrl: "https://gridkey.test",
          region: "north-1",
          meterId: "MTR-fuzz",
          systemTitle: "4d4d4d0000000001",
          identityKey: p256.utils.randomSecretKey(),
          kek: rand(16),
          trustAnchor: { kid: anchor.kid, publicKey: anchor.publicKey },
          fetch: async () => {
            const a = answers[i++ % answers.length]!;
            const headers: Record<string, string> = a.type ? { "content-type": a.type } : {};
            return new Response(a.status === 204 ? null : a.body.slice(), { status: a.status, headers });
          },
        });
        await onlyRejects(async () => {
          if (call === "connect") return client.connect();
          if (call === "fetchKeys") return client.fetchKeys();
          if (call === "rekey") return client.rekey("prog_1");
          return client.request("ping");
        }, SdkError);
      }),
      params(SIGNED),
    );
  });
});
