import { GridkeyError } from "./errors";
import type { NodeId } from "./lkh";

/**
 * The complete-subtree cover (Naor–Naor–Lotspiech) of a set of members in a region's key
 * tree: the fewest subtrees whose occupied leaves are all members. A cover-keyed program's
 * key is wrapped once under each, so exactly the members can unwrap it. Empty leaves are
 * nobody's: a subtree that holds members and empty leaves is still covered whole.
 *
 * `members` are the members' leaves, sorted ascending; `occupied(lo, hi)` counts the tree's
 * occupied leaves in [lo, hi]. Visits O(|cover|·d·h) nodes, top down.
 */
export function completeSubtreeCover(members: readonly number[], degree: number, height: number, occupied: (lo: number, hi: number) => number): NodeId[] {
  const out: NodeId[] = [];
  const visit = (level: number, index: number) => {
    const lo = index * degree ** level;
    const hi = lo + degree ** level - 1;
    const inside = lowerBound(members, hi + 1) - lowerBound(members, lo);
    if (inside === 0) return;
    if (inside === occupied(lo, hi)) {
      out.push({ level, index });
      return;
    }
    if (level === 0) throw new GridkeyError("internal", `leaf ${index} is a member's but not occupied`);
    for (let c = 0; c < degree; c++) visit(level - 1, index * degree + c);
  };
  if (members.length > 0) visit(height, 0);
  return out;
}

/** First index in sorted `xs` whose value is at least `x`. */
export function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
