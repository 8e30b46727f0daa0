import { CborMap, encode, type CborValue } from "../edhoc/cbor";
import { decodeItem, isUint } from "./cbor-item";
import { concatBytes, WireError } from "./axdr";
import { checkProofShape } from "./merkle";

/**
 * Group rekeying on the wire (docs/groups.md). A key graph is a tree of AES-128 node keys
 * addressed bottom-up: leaves are (0, i), the parent of (l, i) is (l + 1, floor(i / d)),
 * the root (h, 0) is the group key. Each change of membership makes an epoch, described by
 * entries of two kinds:
 *   forward  [0, level, index, from, version]           K_version = F(K_from, level, index, version)
 *   wrap     [1, level, index, version, childLevel, childIndex, childVersion, wrapped]
 *            the node's new key, AES key wrap (RFC 3394) under the child's key at that version
 * The bundle's header is signed by central (COSE_Sign1, ES256, as wire/cwt.ts) and carries
 * the Merkle root (RFC 9162) of the entries, so a meter can check just the entries on its path.
 */
export const BUNDLE_TAG = "gridkey/rekey/v1";
export const SNAPSHOT_TAG = "gridkey/path/v1";
export const FORWARD_LABEL = "gridkey lkh forward";
export const NODE_KEY_BYTES = 16;

export type NodeRef = { level: number; index: number; version: number };
/** `from` is the version the key moves forward from: a holder of any other version derives nothing. */
export type ForwardEntry = { kind: "forward"; from: number } & NodeRef;
export type WrapEntry = { kind: "wrap"; node: NodeRef; under: NodeRef; wrapped: Uint8Array };
export type RekeyEntry = ForwardEntry | WrapEntry;

export type BundleHeader = { program: string; epoch: number; height: number; degree: number; entries: number; root: Uint8Array };

export function encodeEntry(e: RekeyEntry): Uint8Array {
  if (e.kind === "forward") return encode([0, e.level, e.index, e.from, e.version]);
  return encode([1, e.node.level, e.node.index, e.node.version, e.under.level, e.under.index, e.under.version, e.wrapped]);
}

export function decodeEntry(bytes: Uint8Array): RekeyEntry {
  const v = decodeItem(bytes);
  if (Array.isArray(v) && v[0] === 0 && v.length === 5 && v.slice(1).every(isUint)) {
    return { kind: "forward", level: v[1] as number, index: v[2] as number, from: v[3] as number, version: v[4] as number };
  }
  if (Array.isArray(v) && v[0] === 1 && v.length === 8 && v.slice(1, 7).every(isUint) && v[7] instanceof Uint8Array) {
    const [, level, index, version, cl, ci, cv, wrapped] = v as [number, number, number, number, number, number, number, Uint8Array];
    return { kind: "wrap", node: { level, index, version }, under: { level: cl, index: ci, version: cv }, wrapped };
  }
  throw new WireError("bad_frame", "a rekey entry is [0, level, index, from, version] or [1, level, index, version, childLevel, childIndex, childVersion, wrapped]");
}

export function encodeHeader(h: BundleHeader): Uint8Array {
  return encode([BUNDLE_TAG, h.program, h.epoch, h.height, h.degree, h.entries, h.root]);
}

export function decodeHeader(bytes: Uint8Array): BundleHeader {
  const v = decodeItem(bytes);
  if (!Array.isArray(v) || v.length !== 7 || v[0] !== BUNDLE_TAG || typeof v[1] !== "string" || !v.slice(2, 6).every(isUint) || !(v[6] instanceof Uint8Array) || v[6].length !== 32) {
    throw new WireError("bad_frame", "not a gridkey rekey bundle header");
  }
  return { program: v[1], epoch: v[2] as number, height: v[3] as number, degree: v[4] as number, entries: v[5] as number, root: v[6] };
}

/** What one member receives for one epoch: the signed header and its entries with proofs. */
export type MemberView = { signedHeader: Uint8Array; items: { index: number; entry: Uint8Array; proof: Uint8Array[] }[] };

export function encodeMemberView(v: MemberView): CborValue {
  return new CborMap([
    ["header", v.signedHeader],
    ["entries", v.items.map((i) => [i.index, i.entry, i.proof])],
  ]);
}

export function decodeMemberView(v: CborValue): MemberView {
  const header = v instanceof CborMap ? v.get("header") : undefined;
  const entries = v instanceof CborMap ? v.get("entries") : undefined;
  if (!(header instanceof Uint8Array) || !Array.isArray(entries)) throw new WireError("bad_frame", "a member view is {header, entries}");
  return {
    signedHeader: header,
    items: entries.map((e) => {
      if (!Array.isArray(e) || e.length !== 3 || !isUint(e[0]) || !(e[1] instanceof Uint8Array)) throw new WireError("bad_frame", "a view entry is [index, entry, proof]");
      return { index: e[0] as number, entry: e[1], proof: checkProofShape(e[2]) };
    }),
  };
}

/**
 * A member's whole path at one epoch, for a new member or one that missed more than one
 * epoch: its leaf key wrapped under its KEK, every other path key wrapped under the leaf
 * key. Signed by central like a bundle header: O(log n) wraps however long it was away.
 */
export type Snapshot = { program: string; epoch: number; height: number; degree: number; leaf: NodeRef; leafWrapped: Uint8Array; path: { node: NodeRef; wrapped: Uint8Array }[] };

export function encodeSnapshot(s: Snapshot): Uint8Array {
  return encode([
    SNAPSHOT_TAG,
    s.program,
    s.epoch,
    s.height,
    s.degree,
    [s.leaf.level, s.leaf.index, s.leaf.version],
    s.leafWrapped,
    s.path.map((p) => [p.node.level, p.node.index, p.node.version, p.wrapped]),
  ]);
}

export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const v = decodeItem(bytes);
  if (!Array.isArray(v) || v.length !== 8 || v[0] !== SNAPSHOT_TAG || typeof v[1] !== "string" || !v.slice(2, 5).every(isUint) || !(v[6] instanceof Uint8Array) || !Array.isArray(v[7])) {
    throw new WireError("bad_frame", "not a gridkey path snapshot");
  }
  return {
    program: v[1],
    epoch: v[2] as number,
    height: v[3] as number,
    degree: v[4] as number,
    leaf: nodeRef(v[5] ?? null),
    leafWrapped: v[6],
    path: v[7].map((p) => {
      if (!Array.isArray(p) || p.length !== 4 || !(p[3] instanceof Uint8Array)) throw new WireError("bad_frame", "a snapshot path entry is [level, index, version, wrapped]");
      return { node: nodeRef(p.slice(0, 3)), wrapped: p[3] };
    }),
  };
}

/** The message hashed to move a node key forward on a join: binds the node and its new version. */
export function forwardInfo(level: number, index: number, version: number): Uint8Array {
  const out = new Uint8Array(12);
  const view = new DataView(out.buffer);
  view.setUint32(0, level);
  view.setUint32(4, index);
  view.setUint32(8, version);
  return concatBytes(new TextEncoder().encode(FORWARD_LABEL), out);
}

export function parentOf(node: { level: number; index: number }, degree: number): { level: number; index: number } {
  return { level: node.level + 1, index: Math.floor(node.index / degree) };
}

function nodeRef(v: CborValue): NodeRef {
  if (!Array.isArray(v) || v.length !== 3 || !v.every(isUint)) throw new WireError("bad_frame", "a node is [level, index, version]");
  return { level: v[0] as number, index: v[1] as number, version: v[2] as number };
}

/**
 * DR commands under a program's group key: a general-glo-ciphering APDU (wire/glo-ciphering.ts)
 * with security control 0x70 (authenticated, encrypted, broadcast key set, suite 0), system
 * title = SHA-256(program id)[0..8], a per-program invocation counter, EK = the group key and
 * AK = HMAC-SHA-256(group key, DR_AK_LABEL)[0..16] (every member can derive it, no one else).
 */
export const DR_COMMAND_SC = 0x70;

/**
 * What meters act on is signed by central over `[COMMAND_TAG, program, apdu]` (COSE_Sign1,
 * ES256, as a rekey header): the group key only proves that the sender is a member, and any
 * member could otherwise forge a command to the others.
 */
export const COMMAND_TAG = "gridkey/command/v1";
export type SignedCommandPayload = { program: string; apdu: Uint8Array };

export function encodeCommandPayload(c: SignedCommandPayload): Uint8Array {
  return encode([COMMAND_TAG, c.program, c.apdu]);
}

export function decodeCommandPayload(bytes: Uint8Array): SignedCommandPayload {
  const v = decodeItem(bytes);
  if (!Array.isArray(v) || v.length !== 3 || v[0] !== COMMAND_TAG || typeof v[1] !== "string" || !(v[2] instanceof Uint8Array)) {
    throw new WireError("bad_frame", "not a gridkey signed DR command");
  }
  return { program: v[1], apdu: v[2] };
}
export const DR_AK_LABEL = "gridkey dr ak";
