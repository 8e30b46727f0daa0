import type { AuditContext } from "./audit-log";
import { commitAudited } from "./audit-log";
import type { Db } from "./db";
import type { EpochResult } from "./key-graph";
import { regionGraphName } from "./rekey-bundles";
import { rpcValue } from "./rpc";

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

/** Joins (or, with `leave`, removes) meters in their regions' trees: one epoch per region. */
export async function adjustRegionTrees(db: Db, env: Env, ctx: AuditContext, change: { join?: Member[]; leave?: Member[] }): Promise<void> {
  const regions = new Map<string, { join: string[]; leave: string[] }>();
  const slot = (r: string) => regions.get(r) ?? regions.set(r, { join: [], leave: [] }).get(r)!;
  for (const m of change.join ?? []) if (m.kind === "meter") slot(m.region).join.push(m.id);
  for (const m of change.leave ?? []) if (m.kind === "meter") slot(m.region).leave.push(m.id);
  for (const [region, { join, leave }] of regions) {
    const epoch: EpochResult | undefined = await rpcValue(regionTree(env, region).adjust(regionGraphName(region), REGION_TREE_DEGREE, join, leave, ctx.requestId));
    if (epoch) await commitAudited(db, ctx, { action: "region.tree.rekey", targetType: "region", targetId: region, details: { ...epoch } });
  }
}
