import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { encode } from "../edhoc/cbor";
import { inclusionProofs } from "../wire/merkle";
import { decodeEntry, encodeMemberView } from "../wire/rekey";
import { onPath } from "./lkh";

/**
 * One member's part of an epoch's bundle: the signed header, and the entries on its path
 * with their Merkle inclusion proofs. The key graph and the concentrators' caches both
 * cut views this way; the entries are public (everything in them is wrapped).
 */
export function memberView(signedHeader: Uint8Array, entries: Uint8Array[], leaf: number, degree: number): Uint8Array {
  const indices = entries.map((e, i) => (onPath(decodeEntry(e), leaf, degree) ? i : -1)).filter((i) => i >= 0);
  const proofs = inclusionProofs(nobleSha256, entries, indices);
  return encode(encodeMemberView({ signedHeader, items: indices.map((index, i) => ({ index, entry: entries[index]!, proof: proofs[i]! })) }));
}

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
