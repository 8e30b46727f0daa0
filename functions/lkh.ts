import { parentOf, type NodeRef, type RekeyEntry } from "../wire/rekey";

/**
 * The logical key hierarchy's bookkeeping (docs/groups.md), apart from storage and crypto:
 * which nodes one epoch's joins and leaves refresh (new random key, wrapped under each
 * occupied child) and which it moves forward (K' = F(K), no wrap: a join's backward secrecy).
 */
export type NodeId = { level: number; index: number };
export const nodeKey = (n: NodeId) => `${n.level}/${n.index}`;

export type EpochPlan = {
  /** Internal nodes that get a fresh key, lowest level first. */
  refresh: NodeId[];
  /** Internal nodes whose key is hashed forward, lowest level first. */
  forward: NodeId[];
  /** Internal nodes left with no member below: deleted. */
  emptied: NodeId[];
  height: number;
};

/** Every ancestor of a leaf up to (and including) level `height`. */
export function ancestors(leaf: number, degree: number, height: number): NodeId[] {
  const out: NodeId[] = [];
  let node: NodeId = { level: 0, index: leaf };
  while (node.level < height) {
    node = parentOf(node, degree);
    out.push(node);
  }
  return out;
}

/** Smallest height whose tree has room for leaf index `maxLeaf` (at least 1: the root is never a leaf). */
export function heightFor(maxLeaf: number, degree: number): number {
  let height = 1;
  while (degree ** height <= maxLeaf) height++;
  return height;
}

/**
 * Plans one epoch. `exists(node)` says whether an internal node exists now; `occupied(node)`
 * whether any member stays below it after the epoch. Departures refresh their whole path
 * (forward secrecy); arrivals move existing nodes on their path forward (backward secrecy at
 * no multicast cost) and create the nodes that did not exist. A node touched by both is
 * refreshed once: that is what makes a batch cheaper than its operations one by one.
 */
export function planEpoch(
  args: { degree: number; oldHeight: number; newHeight: number; joined: number[]; left: number[] },
  exists: (n: NodeId) => boolean,
  occupied: (n: NodeId) => boolean,
): EpochPlan {
  const refresh = new Map<string, NodeId>();
  const forward = new Map<string, NodeId>();
  const emptied = new Map<string, NodeId>();
  for (const leaf of args.left) {
    for (const a of ancestors(leaf, args.degree, args.oldHeight)) {
      (occupied(a) ? refresh : emptied).set(nodeKey(a), a);
    }
  }
  for (const leaf of args.joined) {
    for (const a of ancestors(leaf, args.degree, args.newHeight)) {
      const k = nodeKey(a);
      if (refresh.has(k)) continue;
      emptied.delete(k);
      if (exists(a) && a.level <= args.oldHeight) forward.set(k, a);
      else refresh.set(k, a);
    }
  }
  // A taller tree gets new roots above the old one, whoever joined.
  for (let level = args.oldHeight + 1; level <= args.newHeight; level++) refresh.set(`${level}/0`, { level, index: 0 });
  for (const k of forward.keys()) if (refresh.has(k)) forward.delete(k);
  const byLevel = (a: NodeId, b: NodeId) => a.level - b.level || a.index - b.index;
  return { refresh: [...refresh.values()].sort(byLevel), forward: [...forward.values()].sort(byLevel), emptied: [...emptied.values()], height: args.newHeight };
}

/** Entries a member at `leaf` needs from an epoch: forwards of its path, wraps under its path. */
export function onPath(entry: RekeyEntry, leaf: number, degree: number): boolean {
  const index = (level: number) => Math.floor(leaf / degree ** level);
  if (entry.kind === "forward") return entry.index === index(entry.level);
  return entry.under.index === index(entry.under.level);
}

export function ref(n: NodeId, version: number): NodeRef {
  return { level: n.level, index: n.index, version };
}
