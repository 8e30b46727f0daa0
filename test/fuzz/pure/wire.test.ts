/**
 * Fuzzing the wire formats (wire/), which the service and the meter SDK both parse: A-XDR
 * lengths, DLMS general-glo-ciphering frames (and the service's opening of them), DLMS key
 * transfer, the concentrator CWT, session records (and their opening), Merkle proofs and the
 * rekey formats. Each parser returns a value or throws WireError; opening adds the crypto
 * module's documented errors (CryptoVerifyError for a wrong tag, CryptoInputError for a
 * refused length). Nothing else may escape.
 */
import fc from "fast-check";
import { p256 } from "@noble/curves/nist.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { CborMap, decode, encode } from "../../../edhoc/cbor";
import { CryptoInputError, CryptoVerifyError, openGloCiphering, sealGloCiphering } from "../../../functions/crypto";
import { webCryptoSessionAead } from "../../../functions/session-aead";
import { readAxdrLength, WireError } from "../../../wire/axdr";
import { decodeCwt, encodeCwt, es256ProtectedHeader } from "../../../wire/cwt";
import { decodeGloCiphering, isAuthenticated } from "../../../wire/glo-ciphering";
import { decodeKeyData, encodeKeyData } from "../../../wire/key-transfer";
import { checkProofShape, inclusionProof, merkleRoot, verifyInclusion } from "../../../wire/merkle";
import { decodeCoverEntry, decodeCoverHeader, decodeCoverSnapshot, encodeCoverEntry, encodeCoverHeader, encodeCoverSnapshot, payloadTag } from "../../../wire/cover";
import { decodeCommandPayload, decodeEntry, decodeHeader, decodeMemberView, decodeSnapshot, encodeCommandPayload, encodeEntry, encodeHeader, encodeMemberView, encodeSnapshot } from "../../../wire/rekey";
import {
  decodeRequestRecord,
  decodeResponseRecord,
  encodeResponseRecord,
  openRequest,
  openResponse,
  sealRequest,
  sealResponse,
  sessionAad,
  sessionNonce,
  type SessionKeys,
} from "../../../wire/session-record";
import { budgetMs, bytes, cborSequence, cborValue, check, mutationOf, mutationOfAny, onlyRejects, onlyThrows, params } from "../fuzz";

const PURE = 2000;
const ASYNC = 400;

const rand = (n: number) => crypto.getRandomValues(new Uint8Array(n));

describe("fuzz: DLMS and A-XDR", () => {
  const ek = rand(16);
  const ak = rand(16);
  const title = Uint8Array.from([0x4d, 0x4d, 0x4d, 0, 0, 0, 0, 1]);
  const plaintext = Uint8Array.from([0x0f, 0, 0, 0, 1, 2, 3, 9, 6, 1, 0, 1, 8, 0, 0xff, 6, 0, 0x0f, 0x42, 0x40]);

  it("readAxdrLength: a length or a WireError", { timeout: budgetMs(PURE, 1) }, async () => {
    await check(
      fc.property(bytes(8), fc.nat(10), (input, at) => void onlyThrows(() => readAxdrLength(input, at), WireError)),
      params(PURE),
    );
  });

  it("decodeGloCiphering: real frames (all three protections, suites 0-2) mutated, and noise: a frame or a WireError", { timeout: budgetMs(PURE, 1) }, async () => {
    const frames = await realFrames();
    await check(
      fc.property(fc.oneof(mutationOfAny(frames), bytes(300)), (input) => void onlyThrows(() => decodeGloCiphering(input), WireError)),
      params(PURE),
    );
  });

  it("the service opening a mutated real reading: the plaintext only when unchanged, else WireError / CryptoVerifyError / CryptoInputError", { timeout: budgetMs(ASYNC, 5) }, async () => {
    const real = await sealGloCiphering({ systemTitle: title, securityControl: 0x31, invocationCounter: 7 }, { ek, ak }, plaintext);
    const authOnly = await sealGloCiphering({ systemTitle: title, securityControl: 0x11, invocationCounter: 8 }, { ek, ak }, plaintext);
    await check(
      fc.asyncProperty(fc.oneof(mutationOf(real), mutationOf(authOnly)), async (input) => {
        const opened = await onlyRejects(async () => {
          const frame = decodeGloCiphering(input);
          return { frame, plaintext: await openGloCiphering(frame, { ek, ak }) };
        }, WireError, CryptoVerifyError, CryptoInputError);
        // Encryption-only frames carry no tag and "open" to noise by design: the concentrator
        // refuses them before opening (workers/session-operations.ts). Authenticated ones open
        // only unchanged.
        if (opened && isAuthenticated(opened.frame.securityControl)) expect(opened.plaintext).toEqual(plaintext);
      }),
      params(ASYNC),
    );
  });

  async function realFrames(): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const sc of [0x31, 0x11, 0x21, 0x30, 0x70]) out.push(await sealGloCiphering({ systemTitle: title, securityControl: sc, invocationCounter: 0xfffffffe }, { ek, ak }, plaintext));
    out.push(await sealGloCiphering({ systemTitle: title, securityControl: 0x32, invocationCounter: 1 }, { ek: rand(32), ak: rand(32) }, rand(300)));
    return out;
  }

  it("decodeKeyData: real key_data mutated, and noise: entries or a WireError", { timeout: budgetMs(PURE, 1) }, async () => {
    const real = encodeKeyData([
      { keyId: 0, wrapped: rand(24) },
      { keyId: 2, wrapped: rand(24) },
      { keyId: 1, wrapped: rand(40) },
    ]);
    await check(
      fc.property(fc.oneof(mutationOf(real), bytes(200)), (input) => void onlyThrows(() => decodeKeyData(input), WireError)),
      params(PURE),
    );
  });
});

describe("fuzz: CWT and rekey formats", () => {
  const signer = p256.utils.randomSecretKey();
  const sign = (payload: Uint8Array) => {
    const protectedHeader = es256ProtectedHeader();
    const toSign = encode(["Signature1", protectedHeader, new Uint8Array(0), payload]);
    return encodeCwt({ protectedHeader, signerKid: Uint8Array.of(1, 2, 3, 4), payload, signature: p256.sign(toSign, signer, { prehash: true }) });
  };
  const entries = [
    encodeEntry({ kind: "forward", level: 1, index: 0, from: 1, version: 2 }),
    encodeEntry({ kind: "wrap", node: { level: 1, index: 0, version: 3 }, under: { level: 0, index: 1, version: 1 }, wrapped: rand(24) }),
    encodeEntry({ kind: "wrap", node: { level: 2, index: 0, version: 3 }, under: { level: 1, index: 0, version: 3 }, wrapped: rand(24) }),
  ];
  const header = encodeHeader({ program: "prog_1", epoch: 3, height: 2, degree: 4, entries: entries.length, root: merkleRoot(nobleSha256, entries) });
  const snapshot = encodeSnapshot({
    program: "prog_1",
    epoch: 3,
    height: 2,
    degree: 4,
    leaf: { level: 0, index: 1, version: 1 },
    leafWrapped: rand(24),
    path: [
      { node: { level: 1, index: 0, version: 3 }, wrapped: rand(24) },
      { node: { level: 2, index: 0, version: 3 }, wrapped: rand(24) },
    ],
  });
  // Leaf 1's view: the entries on its path (all three here), each with its inclusion proof.
  const view = encode(encodeMemberView({ signedHeader: sign(header), items: entries.map((entry, index) => ({ index, entry, proof: inclusionProof(nobleSha256, entries, index) })) }));

  it("decodeCwt: a real CWT mutated, and noise: a CWT or a WireError", { timeout: budgetMs(PURE, 1) }, async () => {
    await check(
      fc.property(fc.oneof(mutationOf(sign(snapshot)), bytes(), cborSequence), (input) => void onlyThrows(() => decodeCwt(input), WireError)),
      params(PURE),
    );
  });

  const decoders: Array<[string, (b: Uint8Array) => unknown]> = [
    ["decodeEntry", decodeEntry],
    ["decodeHeader", decodeHeader],
    ["decodeSnapshot", decodeSnapshot],
    ["decodeMemberView", (b) => decodeMemberView(decodeOrWire(b))],
  ];
  for (const [name, decoder] of decoders) {
    it(`${name}: real entries, headers, snapshots and views mutated, and noise: a value or a WireError`, { timeout: budgetMs(PURE, 1) }, async () => {
      await check(
        fc.property(fc.oneof(mutationOfAny([...entries, header, snapshot, view]), bytes(), cborValue.map((v) => encode(v))), (input) => void onlyThrows(() => decoder(input), WireError)),
        params(PURE),
      );
    });
  }

  const coverSamples = [
    encodeCoverEntry({ kind: "cover-forward", from: 3, version: 4 }),
    encodeCoverEntry({ kind: "cover-wrap", version: 4, region: "north-1", level: 2, index: 7, underVersion: 9, wrapped: rand(24) }),
    encodeCoverHeader({ program: "prg_fuzz", epoch: 4, regionDegree: 4, entries: 2, root: rand(32) }),
    encodeCoverSnapshot({ program: "prg_fuzz", epoch: 4, wrapped: rand(24) }),
    encodeCommandPayload({ program: "prg_fuzz", apdu: rand(40) }),
  ];
  const coverDecoders: Array<[string, (b: Uint8Array) => unknown]> = [
    ["decodeCoverEntry", decodeCoverEntry],
    ["decodeCoverHeader", decodeCoverHeader],
    ["decodeCoverSnapshot", decodeCoverSnapshot],
    ["decodeCommandPayload", decodeCommandPayload],
    ["payloadTag", payloadTag],
  ];
  for (const [name, decoder] of coverDecoders) {
    it(`${name}: real cover entries, headers, snapshots and signed-command payloads mutated, and noise: a value or a WireError`, { timeout: budgetMs(PURE, 1) }, async () => {
      await check(
        fc.property(fc.oneof(mutationOfAny(coverSamples), bytes(), cborValue.map((v) => encode(v))), (input) => void onlyThrows(() => decoder(input), WireError)),
        params(PURE),
      );
    });
  }

  it("Merkle proofs: checkProofShape refuses with a WireError, verifyInclusion only answers true for the real proof", { timeout: budgetMs(PURE, 2) }, async () => {
    const real = decodeMemberView(decode(view));
    const root = merkleRoot(nobleSha256, entries);
    const hashes = fc.array(fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom(...real.items.flatMap((i) => i.proof))), { maxLength: 8 });
    await check(
      fc.property(cborValue, hashes, fc.integer({ min: -2, max: 2 ** 40 }), fc.integer({ min: -2, max: 2 ** 40 }), fc.constantFrom(...real.items), (shape, proof, index, size, item) => {
        onlyThrows(() => checkProofShape(shape), WireError);
        const ok = verifyInclusion(nobleSha256, item.entry, index, size, proof, root);
        if (ok) expect([index, size, proof]).toEqual([item.index, entries.length, item.proof]);
      }),
      params(PURE),
    );
  });
});

function decodeOrWire(b: Uint8Array) {
  try {
    return decode(b);
  } catch {
    throw new WireError("bad_frame", "not CBOR");
  }
}

describe("fuzz: session records", () => {
  const keys: SessionKeys = { keyI2R: rand(16), keyR2I: rand(16), ivI2R: rand(12), ivR2I: rand(12) };
  const cR = Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd);

  it("decodeRequestRecord / decodeResponseRecord: a record or a WireError", { timeout: budgetMs(PURE, 1) }, async () => {
    const request = await sealRequest(webCryptoSessionAead, keys, cR, 5, { op: "rekey", args: new CborMap([["program", "p"], ["epoch", 1]]) });
    const response = await sealResponse(webCryptoSessionAead, keys, cR, 5, { ok: true, result: new CborMap([["kind", "current"]]) });
    await check(
      fc.property(fc.oneof(mutationOf(request), mutationOf(response), bytes(), cborSequence), (input) => {
        onlyThrows(() => decodeRequestRecord(input), WireError);
        onlyThrows(() => decodeRequestRecord(input, new Uint8Array(0)), WireError);
        onlyThrows(() => decodeResponseRecord(input), WireError);
      }),
      params(PURE),
    );
  });

  it("openRequest on a mutated real request: the request only when unchanged, else WireError / CryptoVerifyError / CryptoInputError", { timeout: budgetMs(ASYNC, 5) }, async () => {
    const request = await sealRequest(webCryptoSessionAead, keys, cR, 9, { op: "ack", args: new CborMap([["keys", [["k", 2]]]]) });
    await check(
      fc.asyncProperty(mutationOf(request), async (input) => {
        const opened = await onlyRejects(async () => openRequest(webCryptoSessionAead, keys, decodeRequestRecord(input)), WireError, CryptoVerifyError, CryptoInputError);
        if (opened) expect(input).toEqual(request);
      }),
      params(ASYNC),
    );
  });

  it("sealed plaintexts of any shape: openRequest and openResponse refuse all but [op, args] / [0, result] / [1, code, message] with a WireError", { timeout: budgetMs(ASYNC, 5) }, async () => {
    await check(
      fc.asyncProperty(cborValue, fc.integer({ min: 1, max: 1000 }), async (body, counter) => {
        const ciphertext = await webCryptoSessionAead.seal(keys.keyI2R, sessionNonce(keys.ivI2R, counter), encode(body), sessionAad("req", cR, counter));
        await onlyRejects(() => openRequest(webCryptoSessionAead, keys, { connectionId: cR, counter, ciphertext }), WireError);
        const sealed = await webCryptoSessionAead.seal(keys.keyR2I, sessionNonce(keys.ivR2I, counter), encode(body), sessionAad("res", cR, counter));
        await onlyRejects(() => openResponse(webCryptoSessionAead, keys, cR, counter, encodeResponseRecord({ counter, ciphertext: sealed })), WireError);
      }),
      params(ASYNC),
    );
  });
});
