import { constantTimeEqual } from "../functions/crypto/bytes";
import { concatBytes, WireError } from "./axdr";

/**
 * Merkle tree hash and inclusion proofs as RFC 9162 §2.1 defines them (leaf hash
 * H(0x00 || leaf), node hash H(0x01 || left || right), split at the largest power of two
 * below n). A rekey bundle signs only its root, so a meter can verify the few entries on its
 * own path without the whole bundle. `hash` is SHA-256 from whichever library the end has.
 */
export type Hash = (data: Uint8Array) => Uint8Array;

export function leafHash(hash: Hash, leaf: Uint8Array): Uint8Array {
  return hash(concatBytes(Uint8Array.of(0), leaf));
}

function nodeHash(hash: Hash, left: Uint8Array, right: Uint8Array): Uint8Array {
  return hash(concatBytes(Uint8Array.of(1), left, right));
}

function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over leaf hashes; the empty tree's root is H(""). */
export function merkleRoot(hash: Hash, leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return hash(new Uint8Array(0));
  return rootOf(hash, leaves.map((l) => leafHash(hash, l)));
}

function rootOf(hash: Hash, hashes: Uint8Array[]): Uint8Array {
  if (hashes.length === 1) return hashes[0]!;
  const k = split(hashes.length);
  return nodeHash(hash, rootOf(hash, hashes.slice(0, k)), rootOf(hash, hashes.slice(k)));
}

/** PATH(m, D[n]): the sibling hashes from leaf m up to the root. */
export function inclusionProof(hash: Hash, leaves: Uint8Array[], index: number): Uint8Array[] {
  return pathOf(hash, leaves.map((l) => leafHash(hash, l)), index);
}

/** Proofs for several leaves at once, sharing the leaf hashing. */
export function inclusionProofs(hash: Hash, leaves: Uint8Array[], indices: number[]): Uint8Array[][] {
  const hashes = leaves.map((l) => leafHash(hash, l));
  return indices.map((i) => pathOf(hash, hashes, i));
}

function pathOf(hash: Hash, hashes: Uint8Array[], m: number): Uint8Array[] {
  if (hashes.length <= 1) return [];
  const k = split(hashes.length);
  if (m < k) return [...pathOf(hash, hashes.slice(0, k), m), rootOf(hash, hashes.slice(k))];
  return [...pathOf(hash, hashes.slice(k), m - k), rootOf(hash, hashes.slice(0, k))];
}

/** Recomputes the root from a leaf, its index, the tree size and its proof (RFC 9162 §2.1.3.2). */
export function verifyInclusion(hash: Hash, leaf: Uint8Array, index: number, size: number, proof: Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isInteger(index) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash(hash, leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(hash, p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(hash, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return false;
  return constantTimeEqual(r, root);
}

export function checkProofShape(proof: unknown): Uint8Array[] {
  if (!Array.isArray(proof) || proof.length > 64 || !proof.every((p) => p instanceof Uint8Array && p.length === 32)) {
    throw new WireError("bad_frame", "an inclusion proof is an array of 32-byte hashes");
  }
  return proof as Uint8Array[];
}
