import { encode } from "../edhoc/cbor";
import { decodeItem, isUint } from "./cbor-item";
import { concatBytes, WireError } from "./axdr";

/**
 * Cover-keyed DR programs on the wire (docs/groups.md §7). Such a program has no tree of its
 * own: its key is wrapped under the fewest subtree keys of the members' region trees that
 * cover exactly the members (the complete-subtree method of Naor–Naor–Lotspiech), so a
 * member holds one key for the program on top of its region path. Every epoch gives the
 * program key a new version equal to the epoch. Entries:
 *   forward  [2, from, version]              K_version = HMAC-SHA-256(K_from, COVER_FORWARD_LABEL ‖ version)[0..16]
 *   wrap     [3, version, region, level, index, underVersion, wrapped]
 *            K_version, AES key wrap (RFC 3394) under node (level, index) of the region's tree at underVersion
 * The header is signed by central and carries the Merkle root of the entries, as a tree
 * program's (wire/rekey.ts), so a member checks only the entries it uses.
 */
export const COVER_BUNDLE_TAG = "gridkey/cover/v1";
export const COVER_SNAPSHOT_TAG = "gridkey/cover-key/v1";
export const COVER_FORWARD_LABEL = "gridkey cover forward";

export type CoverForward = { kind: "cover-forward"; from: number; version: number };
export type CoverWrap = { kind: "cover-wrap"; version: number; region: string; level: number; index: number; underVersion: number; wrapped: Uint8Array };
export type CoverEntry = CoverForward | CoverWrap;

/** `regionDegree`: the degree of every region tree, so a member can place a wrap on its path. */
export type CoverHeader = { program: string; epoch: number; regionDegree: number; entries: number; root: Uint8Array };

/** A member's program key at one epoch, wrapped under its KEK: for joiners and members far behind. */
export type CoverSnapshot = { program: string; epoch: number; wrapped: Uint8Array };

export function encodeCoverEntry(e: CoverEntry): Uint8Array {
  if (e.kind === "cover-forward") return encode([2, e.from, e.version]);
  return encode([3, e.version, e.region, e.level, e.index, e.underVersion, e.wrapped]);
}

export function decodeCoverEntry(bytes: Uint8Array): CoverEntry {
  const v = decodeItem(bytes);
  if (Array.isArray(v) && v[0] === 2 && v.length === 3 && isUint(v[1]) && isUint(v[2])) return { kind: "cover-forward", from: v[1] as number, version: v[2] as number };
  if (Array.isArray(v) && v[0] === 3 && v.length === 7 && isUint(v[1]) && typeof v[2] === "string" && isUint(v[3]) && isUint(v[4]) && isUint(v[5]) && v[6] instanceof Uint8Array) {
    const [, version, region, level, index, underVersion, wrapped] = v as [number, number, string, number, number, number, Uint8Array];
    return { kind: "cover-wrap", version, region, level, index, underVersion, wrapped };
  }
  throw new WireError("bad_frame", "a cover entry is [2, from, version] or [3, version, region, level, index, underVersion, wrapped]");
}

export function encodeCoverHeader(h: CoverHeader): Uint8Array {
  return encode([COVER_BUNDLE_TAG, h.program, h.epoch, h.regionDegree, h.entries, h.root]);
}

export function decodeCoverHeader(bytes: Uint8Array): CoverHeader {
  const v = decodeItem(bytes);
  if (!Array.isArray(v) || v.length !== 6 || v[0] !== COVER_BUNDLE_TAG || typeof v[1] !== "string" || !v.slice(2, 5).every(isUint) || !(v[5] instanceof Uint8Array) || v[5].length !== 32) {
    throw new WireError("bad_frame", "not a gridkey cover bundle header");
  }
  return { program: v[1], epoch: v[2] as number, regionDegree: v[3] as number, entries: v[4] as number, root: v[5] };
}

export function encodeCoverSnapshot(s: CoverSnapshot): Uint8Array {
  return encode([COVER_SNAPSHOT_TAG, s.program, s.epoch, s.wrapped]);
}

export function decodeCoverSnapshot(bytes: Uint8Array): CoverSnapshot {
  const v = decodeItem(bytes);
  if (!Array.isArray(v) || v.length !== 4 || v[0] !== COVER_SNAPSHOT_TAG || typeof v[1] !== "string" || !isUint(v[2]) || !(v[3] instanceof Uint8Array)) {
    throw new WireError("bad_frame", "not a gridkey cover snapshot");
  }
  return { program: v[1], epoch: v[2] as number, wrapped: v[3] };
}

/** The first element of a signed payload: which of the four rekey payloads it is. */
export function payloadTag(bytes: Uint8Array): string | undefined {
  const v = decodeItem(bytes);
  return Array.isArray(v) && typeof v[0] === "string" ? v[0] : undefined;
}

/** The message hashed to move a program key forward on a join. */
export function coverForwardInfo(version: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, version);
  return concatBytes(new TextEncoder().encode(COVER_FORWARD_LABEL), out);
}

/** Whether a cover wrap is under a node on the path of `leaf` in the region's tree. */
export function coversLeaf(e: CoverWrap, region: string, leaf: number, degree: number): boolean {
  return e.region === region && e.index === Math.floor(leaf / degree ** e.level);
}

