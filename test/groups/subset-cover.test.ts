import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { completeSubtreeCover } from "../../functions/subset-cover";

/** A tree of `degree` and `height`, some leaves occupied, some of those members. */
const layout = fc
  .record({ degree: fc.integer({ min: 2, max: 5 }), height: fc.integer({ min: 1, max: 4 }) })
  .chain(({ degree, height }) =>
    fc
      .uniqueArray(fc.record({ leaf: fc.nat(degree ** height - 1), member: fc.boolean() }), { selector: (l) => l.leaf, maxLength: 60 })
      .map((leaves) => ({ degree, height, occupied: leaves.map((l) => l.leaf), members: leaves.filter((l) => l.member).map((l) => l.leaf).sort((a, b) => a - b) })),
  );

const span = (degree: number, n: { level: number; index: number }) => [n.index * degree ** n.level, (n.index + 1) * degree ** n.level - 1] as const;

describe("the complete-subtree cover", () => {
  it("covers exactly the members, each once, with subtrees no larger one could replace", () => {
    fc.assert(
      fc.property(layout, ({ degree, height, occupied, members }) => {
        const count = (lo: number, hi: number) => occupied.filter((l) => l >= lo && l <= hi).length;
        const cover = completeSubtreeCover(members, degree, height, count);
        const memberSet = new Set(members);
        const coveredBy = new Map<number, number>();
        for (const n of cover) {
          const [lo, hi] = span(degree, n);
          const below = occupied.filter((l) => l >= lo && l <= hi);
          expect(below.every((l) => memberSet.has(l)), "no non-member under a cover subtree").toBe(true);
          expect(below.length).toBeGreaterThan(0);
          for (const l of below) coveredBy.set(l, (coveredBy.get(l) ?? 0) + 1);
          if (n.level < height) {
            const [plo, phi] = span(degree, { level: n.level + 1, index: Math.floor(n.index / degree) });
            expect(occupied.some((l) => l >= plo && l <= phi && !memberSet.has(l)), "the parent would have covered it").toBe(true);
          }
        }
        expect(members.every((m) => coveredBy.get(m) === 1)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("is one node for a whole tree, one leaf for a lone member, nothing for no member", () => {
    const all = Array.from({ length: 16 }, (_, i) => i);
    const count = (lo: number, hi: number) => all.filter((l) => l >= lo && l <= hi).length;
    expect(completeSubtreeCover(all, 4, 2, count)).toEqual([{ level: 2, index: 0 }]);
    expect(completeSubtreeCover([9], 4, 2, count)).toEqual([{ level: 0, index: 9 }]);
    expect(completeSubtreeCover([], 4, 2, count)).toEqual([]);
    // Empty leaves belong to nobody: members 0 and 1 alone in the first subtree take it whole.
    expect(completeSubtreeCover([0, 1], 4, 2, (lo, hi) => [0, 1, 5].filter((l) => l >= lo && l <= hi).length)).toEqual([{ level: 1, index: 0 }]);
  });
});
