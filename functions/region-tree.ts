import type { AuditContext } from "./audit-log";
import { commitAudited } from "./audit-log";
import type { Db } from "./db";
import { regionGraphName } from "./rekey-bundles";
import type { EpochRecord } from "./key-graph";
import { type RpcResult, rpcValue } from "./rpc";

/**
 * Every region has a key tree of its own (a KeyGraph named `region:<region>`) whose members
 * are the region's active meters: its root is the region's broadcast group key, and its
 * subtrees are what cover-keyed programs wrap their keys under (cover-graph.ts). Meters join
 * when enrolled or resumed and leave when suspended or revoked; each change is one epoch,
 * audited. Gateways never hold group keys, so they are never members.
 */
export const REGION_TREE_DEGREE = 4;

type Member = { id: string; region: string; kind: string };

export function regionTree(env: Env, region: string) {
  return env.KEY_GRAPH.get(env.KEY_GRAPH.idFromName(regionGraphName(region)));
}

/**
 * Joins (or, with `leave`, removes) meters in their regions' trees: one epoch per region,
 * audited as `region.tree.rekey`. The tree hands out every epoch whose record is not yet
 * confirmed, so one whose audit write failed before is recorded by the region's next change
 * (`details.late`); a failure between the record and the confirmation records it twice,
 * never not at all.
 */
export async function adjustRegionTrees(db: Db, env: Env, ctx: AuditContext, change: { join?: Member[]; leave?: Member[] }): Promise<void> {
  const regions = new Map<string, { join: string[]; leave: string[] }>();
  const slot = (r: string) => regions.get(r) ?? regions.set(r, { join: [], leave: [] }).get(r)!;
  for (const m of change.join ?? []) if (m.kind === "meter") slot(m.region).join.push(m.id);
  for (const m of change.leave ?? []) if (m.kind === "meter") slot(m.region).leave.push(m.id);
  for (const [region, { join, leave }] of regions) {
    const tree = regionTree(env, region);
    const { applied, unaudited } = await rpcValue(tree.adjust(regionGraphName(region), REGION_TREE_DEGREE, join, leave, ctx.requestId));
    await auditTreeEpochs(db, ctx, region, tree, applied, unaudited);
  }
}

/**
 * A new root for the region's tree (a presumed compromise: region-compromise.ts), audited like
 * its other epochs. `invalid_state`: the region has no tree yet.
 */
export async function rotateRegionTree(db: Db, env: Env, ctx: AuditContext, region: string): Promise<RpcResult<number>> {
  const tree = regionTree(env, region);
  const rotated = await tree.rotate(ctx.requestId);
  if (!rotated.ok) return rotated;
  await auditTreeEpochs(db, ctx, region, tree, rotated.value.epoch, await rpcValue(tree.unaudited()));
  return { ok: true, value: rotated.value.epoch };
}

/** Records the tree's unconfirmed epochs, then confirms them to the tree. */
async function auditTreeEpochs(db: Db, ctx: AuditContext, region: string, tree: ReturnType<typeof regionTree>, applied: number | undefined, unaudited: EpochRecord[]): Promise<void> {
  if (unaudited.length === 0) return;
  await commitAudited(
    db,
    ctx,
    unaudited.map(({ at, ...epoch }) => ({ action: "region.tree.rekey", targetType: "region", targetId: region, details: epoch.epoch === applied ? { ...epoch } : { ...epoch, late: true, appliedAt: at } })),
  );
  await rpcValue(tree.confirmAudited(unaudited.at(-1)!.epoch));
}
