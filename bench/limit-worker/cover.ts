/**
 * Cover-keyed against tree-keyed programs (docs/groups.md §7), counted on gridkey's real
 * objects: a region tree (KeyGraph `region:<region>`) of n meters, then for each density a
 * CoverGraph program of m of them and a KeyGraph program of the same m, and k leaves from
 * each. Answers the wraps of every leave (counts, not times: they do not depend on the
 * machine). Members are bench ids, not registry rows: no snapshot is ever asked for.
 *
 *   POST /graph/cover {program: "bench-…", n, leaves, densities: [{label, fraction, layout}]}
 *        layout "contiguous": the first m meters of the region (enrolled together, so they
 *        share subtrees); "random": m meters picked at random across it.
 */
import type { CoverGraph } from "../../functions/cover-graph";
import type { EpochResult, KeyGraph } from "../../functions/key-graph";
import { REGION_TREE_DEGREE } from "../../functions/region-tree";
import { rpcValue } from "../../functions/rpc";

type CoverEnv = { KEY_GRAPH: DurableObjectNamespace<KeyGraph>; COVER_GRAPH: DurableObjectNamespace<CoverGraph> };
type Density = { label: string; fraction: number; layout: "contiguous" | "random" };
export type CoverRow = { label: string; m: number; layout: string; firstEpochWraps: number; coverLeaveWraps: number[]; treeLeaveWraps: number[]; coverLeaveBytes: number[]; treeLeaveBytes: number[] };

const CHUNK = 10_000;
const chunks = <T>(xs: T[]) => Array.from({ length: Math.ceil(xs.length / CHUNK) }, (_, i) => xs.slice(i * CHUNK, (i + 1) * CHUNK));

export async function coverVersusTree(env: CoverEnv, name: string, n: number, leaves: number, densities: Density[]): Promise<{ n: number; degree: number; rows: CoverRow[] }> {
  const region = name;
  const rid = `bench-${crypto.randomUUID()}`;
  const ids = Array.from({ length: n }, (_, i) => `${region}-m${i}`);
  const tree = env.KEY_GRAPH.get(env.KEY_GRAPH.idFromName(`region:${region}`));
  for (const c of chunks(ids)) await rpcValue(tree.adjust(`region:${region}`, REGION_TREE_DEGREE, c, [], rid));
  const rows: CoverRow[] = [];
  for (const d of densities) {
    const m = Math.max(2, Math.round(d.fraction * n));
    const members = d.layout === "contiguous" ? ids.slice(0, m) : sample(ids, m);
    const cover = env.COVER_GRAPH.get(env.COVER_GRAPH.idFromName(`${name}-cover-${d.label}`));
    const keyed = env.KEY_GRAPH.get(env.KEY_GRAPH.idFromName(`${name}-tree-${d.label}`));
    await rpcValue(cover.init(`${name}-cover-${d.label}`));
    await rpcValue(keyed.init(`${name}-tree-${d.label}`, REGION_TREE_DEGREE));
    let firstEpochWraps = Number.NaN;
    for (const c of chunks(members)) {
      const joined = c.map((id) => ({ id, region }));
      const first = (await rpcValue(cover.change(joined, [], false, rid))).epoch;
      if (Number.isNaN(firstEpochWraps)) firstEpochWraps = first?.wraps ?? Number.NaN;
      await rpcValue(keyed.change(joined, [], false, rid));
    }
    const row: CoverRow = { label: d.label, m, layout: d.layout, firstEpochWraps, coverLeaveWraps: [], treeLeaveWraps: [], coverLeaveBytes: [], treeLeaveBytes: [] };
    for (const id of sample(members, Math.min(leaves, m - 1))) {
      const c = (await rpcValue(cover.change([], [id], false, rid))).epoch as EpochResult;
      const t = (await rpcValue(keyed.change([], [id], false, rid))).epoch as EpochResult;
      row.coverLeaveWraps.push(c.wraps);
      row.coverLeaveBytes.push(c.bundleBytes);
      row.treeLeaveWraps.push(t.wraps);
      row.treeLeaveBytes.push(t.bundleBytes);
    }
    rows.push(row);
  }
  return { n, degree: REGION_TREE_DEGREE, rows };
}

function sample<T>(xs: T[], k: number): T[] {
  const picked = new Set<number>();
  while (picked.size < k) picked.add(Math.floor(Math.random() * xs.length));
  return [...picked].map((i) => xs[i]!);
}
