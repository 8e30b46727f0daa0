import { describe, expect, it } from "vitest";
import { encode } from "../../edhoc/cbor";
import { WireError } from "../../wire/axdr";
import {
  coversLeaf,
  decodeCoverEntry,
  decodeCoverHeader,
  decodeCoverSnapshot,
  encodeCoverEntry,
  encodeCoverHeader,
  encodeCoverSnapshot,
  payloadTag,
  type CoverEntry,
} from "../../wire/cover";

describe("cover bundles on the wire", () => {
  it("round-trips entries, headers and snapshots", () => {
    const entries: CoverEntry[] = [
      { kind: "cover-forward", from: 3, version: 4 },
      { kind: "cover-wrap", version: 4, region: "north-1", level: 2, index: 7, underVersion: 9, wrapped: new Uint8Array(24).fill(5) },
    ];
    for (const e of entries) expect(decodeCoverEntry(encodeCoverEntry(e))).toEqual(e);
    const header = { program: "prg_01", epoch: 4, regionDegree: 4, entries: 2, root: new Uint8Array(32).fill(1) };
    expect(decodeCoverHeader(encodeCoverHeader(header))).toEqual(header);
    expect(payloadTag(encodeCoverHeader(header))).toBe("gridkey/cover/v1");
    const snapshot = { program: "prg_01", epoch: 4, wrapped: new Uint8Array(24).fill(2) };
    expect(decodeCoverSnapshot(encodeCoverSnapshot(snapshot))).toEqual(snapshot);
  });

  it("refuses malformed frames with WireError bad_frame, never another exception", () => {
    const bad = [new Uint8Array(), new Uint8Array([0xff]), encode([3, 1, 5, 0, 0, 0, new Uint8Array(24)]), encode([2, -1, 1]), encode([9]), encode("x")];
    for (const b of bad) {
      expect(() => decodeCoverEntry(b)).toThrow(WireError);
      expect(() => decodeCoverHeader(b)).toThrow(WireError);
      expect(() => decodeCoverSnapshot(b)).toThrow(WireError);
    }
    expect(() => decodeCoverHeader(encode(["gridkey/cover/v1", "p", 1, 4, 1, new Uint8Array(31)]))).toThrow(WireError);
  });

  it("places a wrap on a member's region path", () => {
    const wrap: CoverEntry = { kind: "cover-wrap", version: 1, region: "r", level: 1, index: 2, underVersion: 1, wrapped: new Uint8Array(24) };
    expect(coversLeaf(wrap, "r", 9, 4)).toBe(true); // leaf 9 is under (1, 2) in degree 4
    expect(coversLeaf(wrap, "r", 12, 4)).toBe(false);
    expect(coversLeaf(wrap, "other", 9, 4)).toBe(false);
  });
});
