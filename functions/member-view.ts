import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { encode } from "../edhoc/cbor";
import { inclusionProofs } from "../wire/merkle";
import { coversLeaf, decodeCoverEntry } from "../wire/cover";
import { decodeEntry, encodeMemberView } from "../wire/rekey";
import { onPath } from "./lkh";

/**
 * One member's part of an epoch's bundle: the signed header, and the entries it uses with
 * their Merkle inclusion proofs. The key graphs and the concentrators' caches both cut views
 * this way; the entries are public (everything in them is wrapped).
 */
export function memberView(signedHeader: Uint8Array, entries: Uint8Array[], wanted: (entry: Uint8Array) => boolean): Uint8Array {
  const indices = entries.map((e, i) => (wanted(e) ? i : -1)).filter((i) => i >= 0);
  const proofs = inclusionProofs(nobleSha256, entries, indices);
  return encode(encodeMemberView({ signedHeader, items: indices.map((index, i) => ({ index, entry: entries[index]!, proof: proofs[i]! })) }));
}

/** A tree-keyed program's member at `leaf` uses the forwards of its path and the wraps under it. */
export const onTreePath = (leaf: number, degree: number) => (e: Uint8Array) => onPath(decodeEntry(e), leaf, degree);

/** A cover-keyed program's member uses the key's forward and the wrap under its region path, if any. */
export const onRegionPath = (region: string, leaf: number, degree: number) => (e: Uint8Array) => {
  const entry = decodeCoverEntry(e);
  return entry.kind === "cover-forward" || coversLeaf(entry, region, leaf, degree);
};

/** Entries travel and rest as one blob: a 4-byte length, the bytes, repeated. */
export function packEntries(entries: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(entries.reduce((n, e) => n + 4 + e.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const e of entries) {
    view.setUint32(at, e.length);
    out.set(e, at + 4);
    at += 4 + e.length;
  }
  return out;
}

export function unpackEntries(blob: Uint8Array): Uint8Array[] {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at < blob.length; ) {
    const n = view.getUint32(at);
    out.push(blob.slice(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}
