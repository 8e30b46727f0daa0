/**
 * The rekey section's summary: rows (gridkey, comparison, ratio), detail tables, plots, notes
 * and method, from what bench/sections/rekey.ts measured. Nothing here is typed in by hand.
 */
import type { MlsCase, MlsRun } from "../lib/mls.js";
import type { BenchContext, Row, SectionResult, Table } from "../lib/model.js";
import { type Figure, figure, fmt, fmtFigure, median } from "../lib/stats.js";
import { lineChart, type Series } from "../lib/svg.js";
import { PROBE_ITERATIONS, type RekeyData, type SizeData } from "./rekey.js";

/** The issue's bound for one leave's wraps: d·⌈log_d n⌉ (⌈log_d n⌉ computed exactly). */
export function ceilLog(d: number, n: number): number {
  let h = 0;
  while (d ** h < n) h++;
  return h;
}

const LEAVE_MS_GOAL = 10;
const GOAL_N = 1_000_000;
const n$ = (n: number) => n.toLocaleString("en-US");
const ms = (f: Figure) => fmtFigure(f, "");
/** gridkey ÷ comparison when the two were not measured in paired runs: the ratio of the medians. */
const medianRatio = (a: Figure, b: Figure): Figure => figure([a.median / b.median], "ratio");

function perSize(s: SizeData) {
  const runs = s.runs;
  const batches = runs.map((r) => r.batch).filter((b) => b !== undefined);
  return {
    leaveWraps: figure(runs.map((r) => median(r.leave.wraps)), "wraps"),
    leaveBytes: figure(runs.map((r) => median(r.leave.bytes)), "bytes"),
    leaveMs: figure(runs.map((r) => r.leave.msPerOp), "ms"),
    leaveCpuMs: figure(runs.map((r) => r.leave.cpuMsPerOp), "ms"),
    joinWraps: figure(runs.map((r) => median(r.join.wraps)), "wraps"),
    joinForwards: figure(runs.map((r) => median(r.join.forwards)), "forwards"),
    joinBytes: figure(runs.map((r) => median(r.join.bytes)), "bytes"),
    joinMs: figure(runs.map((r) => r.join.msPerOp), "ms"),
    batchWraps: figure(batches.map((b) => b.wraps), "wraps"),
    batchSingles: figure(batches.map((b) => b.sumOfSingles), "wraps"),
    batchRatio: figure(batches.map((b) => b.wraps / b.sumOfSingles), "ratio"),
    batchBytes: figure(batches.map((b) => b.bytes), "bytes"),
    batchMs: figure(batches.map((b) => b.ms), "ms"),
    batchSize: batches[0]?.leaving ?? Math.max(1, Math.round(s.n / 100)),
    bound: s.degree * ceilLog(s.degree, s.n),
    probeMs: figure(runs.map((r) => r.probe.ms), "ms"),
    probeCpuMs: figure(runs.map((r) => r.probe.cpuMs), "ms"),
    leavePerProbe: figure(runs.map((r) => r.leave.msPerOp / r.probe.ms), "ratio"),
  };
}

const mlsCases = (mls: RekeyData["mls"]): MlsCase[] => ("cases" in mls ? mls.cases : []);
const measured = (c: MlsCase): c is MlsCase & Required<Pick<MlsCase, "remove" | "add">> => !c.skipped && c.remove !== undefined && c.add !== undefined;
const treeLabel = (c: MlsCase) => `${c.tree} tree: ${c.blankInternalNodes ?? "?"} of ${c.internalNodes ?? "?"} internal nodes blank`;

export function rekeyReport(ctx: BenchContext, data: RekeyData): SectionResult {
  const p = ctx.profile;
  const rk = p.rekey;
  const { graphs, flat, mls } = data;
  const okMls = mlsCases(mls).filter(measured);
  const mainDegree = rk.degrees.includes(4) ? 4 : rk.degrees[0]!;
  const largestN = Math.max(...graphs.filter((g) => g.degree === mainDegree).map((g) => g.n));
  const at = (d: number, n: number) => graphs.find((g) => g.degree === d && g.n === n);
  const main = at(mainDegree, largestN)!;
  const mainF = perSize(main);
  /** The largest MLS case measured (a filled tree first at the same n). */
  const largestMls = [...okMls].sort((a, b) => b.n - a.n || (a.tree === "filled" ? -1 : 1))[0];
  /** The MLS case to compare with at n: the same n if measured (filled tree first), else the largest measured. */
  const mlsFor = (n: number): MlsCase | undefined => {
    const same = okMls.filter((c) => c.n === n);
    if (same.length > 0) return same.find((c) => c.tree === "filled") ?? same[0];
    return largestMls;
  };
  const mlsFig = (c: MlsCase, sel: (c: MlsCase & Required<Pick<MlsCase, "remove" | "add">>) => number[], unit: string) => figure(measured(c) ? sel(c) : [], unit);

  /** Each degree's largest n measured (degrees outside topSizeDegrees stop one size short). */
  const topOf = (d: number) => at(d, Math.max(...graphs.filter((g) => g.degree === d).map((g) => g.n)));
  const rows: Row[] = [];
  for (const d of rk.degrees) {
    const s = topOf(d);
    if (!s) continue;
    const f = perSize(s);
    const flatWraps = figure([s.n - 1], "wraps");
    rows.push({
      item: "1",
      measure: `Leave: wraps multicast, n = ${n$(s.n)}, degree ${d}`,
      gridkey: f.leaveWraps,
      comparison: { label: "flat rekeying: one wrap per remaining member (n − 1)", value: flatWraps },
      ratio: medianRatio(f.leaveWraps, flatWraps),
      expected: `≤ d·⌈log_d n⌉ = ${f.bound}`,
      verdict: f.leaveWraps.max <= f.bound ? "meets" : "misses",
    });
  }
  rows.push({
    item: "1",
    measure: `Join: wraps multicast, n = ${n$(largestN)}, degree ${mainDegree} (the path is hashed forward instead)`,
    gridkey: mainF.joinWraps,
    comparison: { label: "LKH bound for a rekeyed path, d·⌈log_d n⌉", value: figure([mainF.bound], "wraps") },
    ratio: medianRatio(mainF.joinWraps, figure([mainF.bound], "wraps")),
    expected: "0",
    verdict: rk.degrees.every((d) => graphs.filter((g) => g.degree === d).every((g) => perSize(g).joinWraps.max === 0)) ? "meets" : "misses",
    note: "verdict over every n and degree measured",
  });
  for (const d of rk.degrees) {
    const s = topOf(d);
    if (!s) continue;
    const f = perSize(s);
    rows.push({
      item: "1",
      measure: `Batch of 1 % leaving and 1 % joining (${n$(f.batchSize)} + ${n$(f.batchSize)}) in one epoch: wraps, n = ${n$(s.n)}, degree ${d}`,
      gridkey: f.batchWraps,
      comparison: { label: "the same changes one by one, estimated: L × mean wraps of this run's single leaves + J × of its single joins", value: f.batchSingles },
      ratio: f.batchRatio,
      expected: "ratio < 1",
      verdict: f.batchRatio.runs.length > 0 && f.batchRatio.max < 1 ? "meets" : "misses",
    });
  }
  // MLS is compared where both were measured (the largest such n), else with MLS's largest case.
  const mlsMain = mlsFor(largestN);
  const common = okMls.map((c) => c.n).filter((n) => at(mainDegree, n)).sort((a, b) => b - a)[0];
  const cmp = common !== undefined ? { g: at(mainDegree, common)!, c: mlsFor(common)! } : mlsMain ? { g: main, c: mlsMain } : undefined;
  const sameN = (c: MlsCase, n: number) => (c.n === n ? "same n" : `n = ${n$(c.n)}`);
  if (cmp && measured(cmp.c)) {
    const gf = perSize(cmp.g);
    const bytes = mlsFig(cmp.c, (c) => c.remove.bytes, "bytes");
    const create = mlsFig(cmp.c, (c) => c.remove.createMs, "ms");
    rows.push({
      item: "1",
      measure: `Leave: bytes multicast (signed bundle), n = ${n$(cmp.g.n)}, degree ${mainDegree}`,
      gridkey: gf.leaveBytes,
      comparison: { label: `MLS commit removing one member (ts-mls, PublicMessage), ${sameN(cmp.c, cmp.g.n)}, ${treeLabel(cmp.c)}`, value: bytes },
      ratio: medianRatio(gf.leaveBytes, bytes),
    });
    rows.push({
      item: "1",
      measure: `Leave: time, n = ${n$(cmp.g.n)}, degree ${mainDegree}: the KeyGraph DO in workerd (wall, from outside) vs MLS's committer, ms`,
      gridkey: gf.leaveMs,
      comparison: { label: `MLS: creating the remove commit (ts-mls in Node), ${sameN(cmp.c, cmp.g.n)}, ${cmp.c.tree} tree`, value: create },
      ratio: medianRatio(gf.leaveMs, create),
    });
  }
  const flatSame = flat.find((f) => f.n === largestN && f.runs.length > 0) ?? [...flat].filter((f) => f.runs.length > 0 && at(mainDegree, f.n)).sort((a, b) => b.n - a.n)[0];
  // The time goal, for every degree measured at its n (and the main degree at its largest n).
  for (const d of rk.degrees) {
    const s = topOf(d);
    if (!s || (d !== mainDegree && s.n < GOAL_N)) continue;
    const f = perSize(s);
    const flatMs = d === mainDegree && flatSame?.n === s.n ? figure(flatSame.runs.map((r) => r.msPerOp), "ms") : undefined;
    const goalMet = s.n >= GOAL_N ? (f.leaveMs.median <= LEAVE_MS_GOAL ? "meets" : "misses") : undefined;
    rows.push({
      item: "1",
      measure: `Leave: time in the KeyGraph DO (workerd, its SQLite storage, D1 signing key, push to a concentrator), n = ${n$(s.n)}, degree ${d}, ms`,
      gridkey: f.leaveMs,
      ...(flatMs ? { comparison: { label: `flat rekeying in the same DO (one level, ${n$(s.n - 1)} wraps)`, value: flatMs }, ratio: medianRatio(f.leaveMs, flatMs) } : {}),
      expected: `≤ ${LEAVE_MS_GOAL} ms at n = ${n$(GOAL_N)}`,
      ...(goalMet ? { verdict: goalMet } : { note: `n = ${n$(GOAL_N)} is measured by the full run only` }),
    });
  }
  if (flatSame && flatSame.n !== largestN) {
    const gf = perSize(at(mainDegree, flatSame.n)!);
    const flatMs = figure(flatSame.runs.map((r) => r.msPerOp), "ms");
    rows.push({
      item: "1",
      measure: `Leave: time in the KeyGraph DO, n = ${n$(flatSame.n)}, degree ${mainDegree}, ms`,
      gridkey: gf.leaveMs,
      comparison: { label: `flat rekeying in the same DO (one level, ${n$(flatSame.n - 1)} wraps)`, value: flatMs },
      ratio: medianRatio(gf.leaveMs, flatMs),
    });
  }
  // Item 2: the member's side (MLS compared at the same n where both were measured).
  const memberAt = cmp?.g ?? main;
  const worst = memberAt.member.find((m) => m.case.startsWith("its sibling"));
  if (worst) {
    const g = figure(worst.ms, "ms");
    const c = cmp?.c;
    rows.push({
      item: "2",
      measure: `Member: processing one leave's rekey (SDK, noble, Node; sibling left: ${worst.unwraps} unwraps, ${worst.signatureChecks} ES256 check, ${worst.proofHashes} SHA-256 for proofs), n = ${n$(memberAt.n)}, degree ${mainDegree}, ms`,
      gridkey: g,
      ...(c && measured(c)
        ? {
            comparison: { label: `MLS member processing a remove commit (ts-mls in Node), ${sameN(c, memberAt.n)}, ${treeLabel(c)}`, value: mlsFig(c, (x) => x.remove.processMs, "ms") },
            ratio: medianRatio(g, mlsFig(c, (x) => x.remove.processMs, "ms")),
          }
        : {}),
    });
  }
  const held = main.heldKeys;
  if (Number.isFinite(held)) {
    const formula = 10 * (ceilLog(mainDegree, largestN) + 1);
    rows.push({
      item: "2",
      measure: `Keys a meter stores in 10 programs of n = ${n$(largestN)}, degree ${mainDegree}: independent trees (path length held, measured)`,
      gridkey: figure([10 * held], "keys"),
      comparison: { label: "Σ(⌈log_d n_i⌉ + 1)", value: figure([formula], "keys") },
      ratio: figure([(10 * held) / formula], "ratio"),
    });
    rows.push({
      item: "2",
      measure: `Keys a meter stores in 10 cover-keyed programs, region of n = ${n$(largestN)}, degree ${mainDegree}: its region path (measured, a KeyGraph of n) + 1 per program`,
      gridkey: figure([held + 10], "keys"),
      comparison: { label: "10 independent trees of the same n (measured path × 10)", value: figure([10 * held], "keys") },
      ratio: figure([(held + 10) / (10 * held)], "ratio"),
      note: "the SDK's stored count for cover-keyed programs is checked by test/groups/cover.test.ts (5, 7, 14 keys for 1, 3, 10 programs in a region of 20)",
    });
  }

  const tables: Table[] = [];
  tables.push({
    title: "gridkey's KeyGraph: cost per operation (median [min–max] over runs)",
    columns: [
      "d",
      "n",
      "build (s, joins of ≤ chunk)",
      "leave wraps (bound d·⌈log_d n⌉)",
      "leave bytes",
      "leave ms (CPU ms)",
      "join wraps / forwards",
      "join bytes",
      "join ms",
      "1 % batch L + J: wraps (one by one, estimated)",
      "batch bytes",
      "batch ms",
    ],
    rows: graphs.map((s) => {
      const f = perSize(s);
      return [
        String(s.degree),
        n$(s.n),
        `${fmt(s.buildSeconds)} (${n$(s.buildJoins)} joins)`,
        `${ms(f.leaveWraps)} (${f.bound})`,
        ms(f.leaveBytes),
        `${ms(f.leaveMs)} (${ms(f.leaveCpuMs)})`,
        `${ms(f.joinWraps)} / ${ms(f.joinForwards)}`,
        ms(f.joinBytes),
        ms(f.joinMs),
        `${n$(f.batchSize)} + ${n$(f.batchSize)}: ${ms(f.batchWraps)} (${ms(f.batchSingles)})`,
        ms(f.batchBytes),
        ms(f.batchMs),
      ];
    }),
    note:
      `Times are wall time per operation from outside (each request's time minus an empty request's, ${fmt(data.baselineMs)} ms, divided by its ${rk.opsPerRun} operations), ` +
      "CPU ms is the limit worker's workerd per operation (/proc). Bytes are the signed bundle (COSE_Sign1 header + entries) every member receives.",
  });
  const probes = figure(graphs.flatMap((g) => g.runs.map((r) => r.probe.ms)), "ms");
  tables.push({
    title: "The host's speed beside each run: a fixed workload timed just before every run's operations",
    columns: ["d", "n", "host probe ms (CPU ms)", "leave ms", "leave ÷ probe (same run)"],
    rows: graphs.map((s) => {
      const f = perSize(s);
      return [String(s.degree), n$(s.n), `${ms(f.probeMs)} (${ms(f.probeCpuMs)})`, ms(f.leaveMs), ms(f.leavePerProbe)];
    }),
    note:
      `The probe is nothing of gridkey's: ${n$(PROBE_ITERATIONS * 1000)} SHA-256 of 64 bytes (noble, pure JS) in the limit worker, timed like the operations and given per 1,000. ` +
      `On a steady host it would not move; over this section it took ${ms(probes)} ms (slowest ÷ fastest ${fmt(probes.max / probes.min)}). ` +
      "A time on this page carries the host's state at that moment as well as gridkey's cost; the last column, the leave in probe units, is comparable from one moment to the next.",
  });
  const signMs = figure(data.parts.sign.map((x) => x.ms), "ms");
  const pushMs = figure(data.parts.push.map((x) => x.ms), "ms");
  tables.push({
    title: `Where a leave's time goes (degree ${mainDegree}), ms per operation`,
    columns: ["n", "leave: wall (workerd CPU)", "signing the header: D1 key read, unseal, ES256 (CPU)", "pushing the bundle: Concentrator RPC + storage write (CPU)", "the rest: request + DO RPC, SQLite, node keys (unseal, wrap, seal), Merkle root"],
    rows: graphs
      .filter((g) => g.degree === mainDegree)
      .map((g) => {
        const f = perSize(g);
        return [n$(g.n), `${ms(f.leaveMs)} (${ms(f.leaveCpuMs)})`, `${ms(signMs)} (${ms(figure(data.parts.sign.map((x) => x.cpuMs), "ms"))})`, `${ms(pushMs)} (${ms(figure(data.parts.push.map((x) => x.cpuMs), "ms"))})`, fmt(f.leaveMs.median - signMs.median - pushMs.median)];
      }),
    note:
      `Signing and pushing are measured alone in the same worker (${data.parts.iterations} in a row per request, ${p.runs} run(s); the push with a ${n$(data.parts.pushBytes)}-byte bundle to the one region holding members), ` +
      "repeating what KeyGraph.signed and KeyGraph.publish do; the rest is the leave's time minus both (medians).",
  });
  if (flat.length > 0) {
    tables.push({
      title: "Flat rekeying measured in the same KeyGraph DO (degree ≥ n: one level)",
      columns: ["n", "build (s)", "leave wraps", "leave bytes", "leave ms (CPU ms)", "problems"],
      rows: flat.map((f) => [
        n$(f.n),
        fmt(f.buildSeconds),
        ms(figure(f.runs.map((r) => median(r.wraps)), "wraps")),
        ms(figure(f.runs.map((r) => median(r.bytes)), "bytes")),
        `${ms(figure(f.runs.map((r) => r.msPerOp), "ms"))} (${ms(figure(f.runs.map((r) => r.cpuMsPerOp), "ms"))})`,
        f.errors.join("; ") || "–",
      ]),
    });
  }
  tables.push({
    title: `MLS (RFC 9420) with ts-mls ${"version" in mls ? mls.version : "?"}, cipher suite 1 (X25519, AES-128-GCM, SHA-256, Ed25519), in Node`,
    columns: ["n", "tree state", "build (s)", "remove: commit bytes", "HPKE ciphertexts", "create ms", "member processes ms", "add: commit bytes", "Welcome bytes", "create ms", "member processes ms"],
    rows:
      "error" in mls
        ? [["–", `not run: ${mls.error}`, "", "", "", "", "", "", "", "", ""]]
        : mls.cases.map((c) =>
            measured(c)
              ? [
                  n$(c.n),
                  treeLabel(c),
                  fmt(c.buildSeconds ?? Number.NaN),
                  ms(figure(c.remove.bytes, "bytes")),
                  ms(figure(c.remove.ciphertexts, "")),
                  ms(figure(c.remove.createMs, "ms")),
                  ms(figure(c.remove.processMs, "ms")),
                  ms(figure(c.add.bytes, "bytes")),
                  ms(figure(c.add.welcomeBytes, "bytes")),
                  ms(figure(c.add.createMs, "ms")),
                  ms(figure(c.add.processMs, "ms")),
                ]
              : [n$(c.n), `${c.tree}: not measured (${c.skipped ?? "no result"})`, "", "", "", "", "", "", "", "", ""],
          ),
    note: `${rk.mls.samples} sample(s) per case after one warm-up (above n = 2,000: one sample, no warm-up), each from the same two states (creator and newest member, same epoch), so n is fixed; run budget ${rk.mls.budgetSeconds} s; stack: ${"stackSize" in mls ? mls.stackSize : "?"}.`,
  });
  tables.push({
    title: "Member cost: the meter SDK processing one rekey (GroupKeys.apply of a view, noble, in Node)",
    columns: ["d", "n", "what happened", "view bytes", "entries", "unwraps", "HMAC forwards", "ES256 checks", "SHA-256 (proofs)", "keys held after", "ms"],
    rows: graphs.flatMap((s) =>
      s.member.map((m) => [String(s.degree), n$(s.n), m.case, n$(m.viewBytes), String(m.entries), String(m.unwraps), String(m.forwards), String(m.signatureChecks), String(m.proofHashes), String(m.heldKeys), ms(figure(m.ms, "ms"))]),
    ),
    note: `${rk.memberSamples} samples after a warm-up, each on a fresh meter state restored from the same signed snapshot (not timed). The observer is a registered member at leaf 0.`,
  });
  tables.push({
    title: "Keys stored per meter across k programs: independent trees (a path each) against the shared structure (the region path + one key per cover-keyed program)",
    columns: ["d", "n (program, and region)", "path held (measured)", "k = 1: trees / shared", "k = 3: trees / shared", "k = 10: trees / shared", "saving at k = 10", "Σ(⌈log_d n_i⌉ + 1) for 10"],
    rows: graphs
      .filter((s) => Number.isFinite(s.heldKeys))
      .map((s) => {
        const at = (k: number) => `${k * s.heldKeys} / ${s.heldKeys + k}`;
        return [String(s.degree), n$(s.n), String(s.heldKeys), at(1), at(3), at(10), `${Math.round(100 * (1 - (s.heldKeys + 10) / (10 * s.heldKeys)))} %`, String(10 * (ceilLog(s.degree, s.n) + 1))];
      }),
    note: "The path held is measured on a real KeyGraph of n members, which is what a region tree is. A cover-keyed program adds one key on top of the region path (docs/groups.md §7); trees cost a path per program.",
  });

  const cover = data.cover;
  if (!("error" in cover)) {
    const ratio = (r: { coverLeaveWraps: number[]; treeLeaveWraps: number[] }) => median(r.coverLeaveWraps) / median(r.treeLeaveWraps);
    tables.push({
      title: `Cover-keyed against tree-keyed programs: wraps multicast per leave, m members of a region of n = ${n$(cover.n)} (degree ${cover.degree}; median [min–max] of the leaves)`,
      columns: ["members", "m", "cover: first epoch wraps", "cover: wraps per leave", "tree of the same m: wraps per leave", "cover / tree", "cover: bundle bytes", "tree: bundle bytes", "keys a member stores for it beyond its region path: cover / tree"],
      rows: cover.rows.map((r) => {
        const treePath = ceilLog(cover.degree, r.m) + 1;
        return [
          `${r.label} (${r.layout})`,
          n$(r.m),
          String(r.firstEpochWraps),
          fmtFigure(figure(r.coverLeaveWraps, "wraps")),
          fmtFigure(figure(r.treeLeaveWraps, "wraps")),
          fmt(ratio(r)),
          fmtFigure(figure(r.coverLeaveBytes, "bytes")),
          fmtFigure(figure(r.treeLeaveBytes, "bytes")),
          `1 / ${treePath}`,
        ];
      }),
      note: "Counted on gridkey's real CoverGraph and KeyGraph (functions/cover-graph.ts, key-graph.ts) in the limit worker. A cover's wraps are the complete-subtree cover of the members left in the region tree: few when the members are dense or enrolled together (they share subtrees), about one per member when they are scattered thinly. Where the ratio passes 1, a tree of its own is cheaper to rekey; a member of a cover-keyed program always stores one key for it instead of a path (docs/groups.md §7).",
    });
    const dense = cover.rows.find((r) => r.layout === "contiguous" && r.m === cover.n) ?? cover.rows[0];
    const sparse = [...cover.rows].sort((a, b) => a.m - b.m)[0];
    for (const [what, r] of [["dense: every meter of the region", dense], ["sparse: members scattered at random", sparse]] as const) {
      if (!r) continue;
      rows.push({
        item: "1",
        measure: `Leave from a cover-keyed program, ${what} (m = ${n$(r.m)} of a region of ${n$(cover.n)}, d = ${cover.degree}): wraps`,
        gridkey: figure(r.coverLeaveWraps, "wraps"),
        comparison: { label: "the same members in a tree of their own (KeyGraph), wraps", value: figure(r.treeLeaveWraps, "wraps") },
        ratio: figure([ratio(r)], "ratio"),
      });
    }
  }

  const plots = charts(ctx, data);
  const notes: string[] = [];
  if ("error" in cover) notes.push(`cover-keyed rows not measured: ${cover.error}`);
  for (const s of graphs) for (const e of s.errors) notes.push(`degree ${s.degree}, n = ${n$(s.n)}: ${e}`);
  for (const f of flat) for (const e of f.errors) notes.push(`flat, n = ${n$(f.n)}: ${e}`);
  if ("error" in mls) notes.push(`MLS baseline not run: ${mls.error}`);
  else {
    const skipped = mls.cases.filter((c) => !measured(c));
    const missing = rk.mls.cases.filter((c) => !mls.cases.some((m) => m.n === c.n && m.tree === c.tree));
    if (skipped.length + missing.length > 0) {
      notes.push(
        `MLS stopped at: ${[...skipped.map((c) => `n = ${n$(c.n)} ${c.tree} (${c.skipped})`), ...missing.map((c) => `n = ${n$(c.n)} ${c.tree} (not finished: the child exited or was stopped past its budget)`)].join("; ")}.`,
      );
    }
    if (largestMls && skipped.length + missing.length === 0) {
      notes.push(
        `MLS stops at n = ${n$(largestMls.n)} (${largestMls.tree} tree), this profile's largest case: every case finished within the run's MLS budget of ${rk.mls.budgetSeconds} s. ` +
          `Larger n are not attempted: there, building the group took ${fmt(largestMls.buildSeconds ?? Number.NaN)} s, one remove commit ${fmt(median(largestMls.remove.createMs))} ms to create and ${fmt(median(largestMls.remove.processMs))} ms to process, and ts-mls's work per epoch grows with n.`,
      );
    }
    const blank = okMls.filter((c) => c.tree === "blank");
    const filled = okMls.filter((c) => c.tree === "filled");
    notes.push(
      `MLS tree states: ${okMls.map((c) => `n = ${n$(c.n)} ${treeLabel(c)}`).join("; ") || "none measured"}. ` +
        `A blank tree (members added by add-only commits, which carry no UpdatePath in ts-mls) is MLS's worst case; a filled tree (every member committed an update after joining) its steady state${filled.length > 0 ? "" : " (not reached in this run)"}. ` +
        `Building a filled tree costs one join and one commit per member${filled.length > 0 ? ` (${filled.map((c) => `n = ${n$(c.n)}: ${fmt(c.buildSeconds ?? Number.NaN)} s`).join(", ")})` : ""}, which is why it is only measured at small n.` +
        (blank.length > 0 ? ` ts-mls re-derives per-member tables and the tree hash each epoch, so its times grow with n whatever the tree state; commit sizes are the protocol-level figures.` : ""),
    );
  }
  if (main.n < GOAL_N) notes.push(`The issue's time goal (a leave in ≤ ${LEAVE_MS_GOAL} ms at n = ${n$(GOAL_N)}) is judged by the full run; this ${p.name} run stops at n = ${n$(largestN)}.`);
  for (const d of rk.degrees) {
    const s = topOf(d);
    const f = s && s.n >= GOAL_N ? perSize(s) : undefined;
    if (!s || !f || f.leaveMs.median <= LEAVE_MS_GOAL) continue;
    notes.push(
      `A leave at n = ${n$(s.n)} (degree ${d}) takes ${ms(f.leaveMs)} ms against the ${LEAVE_MS_GOAL} ms goal; the workerd CPU per leave is ${ms(f.leaveCpuMs)} ms. ` +
        `Of that, signing the header (D1 read of the central signing key, unseal, ES256) takes ${ms(signMs)} ms and pushing the bundle (Concentrator RPC and its storage write) ${ms(pushMs)} ms, measured alone: see "Where a leave's time goes". ` +
        `The host probe beside these runs took ${ms(f.probeMs)} ms, against ${fmt(probes.min)} ms at its fastest in this section: see "The host's speed beside each run".`,
    );
  }

  const method = [
    `**KeyGraph**: gridkey's \`KeyGraph\` class (functions/key-graph.ts, unchanged) bound in the bench-only limit worker under its own \`wrangler dev\` (bench/limit-worker/graph.ts): its own SQLite storage, D1 with gridkey's migrations (the central signing key is created there on first use and read on every epoch), the master keys, and a real \`Concentrator\` it pushes each bundle to (the program has one registered member in region bench-1, the observer). One graph per degree (${rk.degrees.join(", ")}), all alive side by side, grown through \`change()\` calls of at most ${n$(rk.chunk)} joins to n = ${rk.sizes.map(n$).join(", ")} in turn; build time is reported. At each n every graph is grown and warmed up, then the runs go round the degrees (run 1 of each degree, then run 2, …), so a slow spell of the host falls on every degree alike; each run starts with the host probe (a fixed workload, see its table).`,
    `**Operations**: at each n, one warm-up leave and join, then ${p.runs} run(s), each: ${rk.opsPerRun} single leaves of random members (one request, each leave its own \`change()\` epoch), ${rk.opsPerRun} single joins of new meter ids, and a batch of 1 % leaving and 1 % joining queued with \`change(…, batched = true)\` and applied by \`flush()\` (as a batched program's window; above n = ${n$(rk.batchEveryRunUpTo)} in the last run only). Wraps, forwards and bundle bytes are the \`EpochResult\` the DO returns. The largest n (${n$(Math.max(...rk.sizes))}) is built for degree(s) ${rk.topSizeDegrees.join(", ")} only.`,
    `**Clock**: workerd's own clock does not advance during computation, so every time is taken from outside: the request's wall time (Node's performance.now in this orchestrator) minus the median of ${7} empty requests to the same worker (${fmt(data.baselineMs)} ms), divided by the operations in it; CPU ms is the limit worker's workerd CPU time over the same request (/proc).`,
    `**Flat rekeying**: the same DO with a degree at least n (one level: the group key wrapped under each member's own key, n − 1 wraps per leave), built and measured the same way at n = ${rk.flatSizes.map(n$).join(", ") || "–"}.`,
    `**LKH bound**: d·⌈log_d n⌉ wraps for a leave; a full tree's leave costs d·h − 1 (docs/groups.md §3).`,
    `**MLS**: ts-mls in its own package (bench/mls, own package-lock, installed by the bench with \`npm ci --prefix bench/mls\` when missing), run as a child process (bench/mls/mls-bench.ts) after the KeyGraph measurements, on the orchestrator's CPU. Per case: a group of n built in the stated tree state, then from the same two states each sample (creator and newest member, same epoch): the creator's commit removing a random member, the member's processing of it, the same for adding one member; commit bytes as PublicMessage (so the UpdatePath's HPKE ciphertexts can be counted; a PrivateMessage adds its AEAD framing).`,
    `**Member cost**: the observer (a registered meter at leaf 0 with a KEK in D1) gets a signed snapshot, one change happens, and it gets its view of that epoch from \`memberUpdate()\`; this process runs the SDK's \`GroupKeys.apply\` (ES256 header check, Merkle proofs, HMAC forwards, RFC 3394 unwraps with noble) ${rk.memberSamples} times on fresh states and checks it reaches the new group key. Cases: its sibling leaves (the worst case: every key of its path is new) and the 1 % batch of the last run.`,
    `**Keys per meter**: the keys the observer holds after its snapshot (its leaf-to-root path), measured per graph; k programs of independent trees hold k such paths.`,
  ];

  return {
    id: "rekey",
    title: "Group rekeying: cost per join, leave and batch in the KeyGraph DO vs flat, LKH and MLS; the member's cost",
    items: ["1", "2"],
    rows,
    tables,
    plots,
    method,
    notes,
    raw: { ...data, summary: graphs.map((s) => ({ degree: s.degree, n: s.n, ...perSize(s) })) },
  };
}

function charts(ctx: BenchContext, data: RekeyData): SectionResult["plots"] {
  const { graphs, flat, mls } = data;
  const degrees = ctx.profile.rekey.degrees;
  const okMls = mlsCases(mls).filter(measured);
  const allN = [...graphs.map((g) => g.n), ...flat.map((f) => f.n), ...okMls.map((c) => c.n)];
  const nRange = [Math.min(...allN), Math.max(...allN)];
  const pt = (x: number, f: Figure) => ({ x, y: f.median, yMin: f.min, yMax: f.max });
  const byDegree = (d: number) => graphs.filter((g) => g.degree === d);
  const mlsSeries = (tree: "blank" | "filled", name: string, sel: (c: MlsCase & Required<Pick<MlsCase, "remove" | "add">>) => number[], unit: string): Series => ({
    name,
    dashed: tree === "blank",
    points: okMls.filter((c) => c.tree === tree).map((c) => pt(c.n, figure(sel(c), unit))),
  });
  const flatLine: Series = { name: "flat: n − 1", dashed: true, color: "#8c564b", points: [nRange[0]!, nRange[1]!].map((n) => ({ x: n, y: n - 1 })) };
  const sub = `${ctx.profile.name} run, ${ctx.profile.runs} run(s), median with min–max`;
  const wraps = lineChart({
    title: "Wraps multicast per leave vs members",
    subtitle: sub,
    xLabel: "members n (log scale)",
    yLabel: "wraps / HPKE ciphertexts (log scale)",
    xLog: true,
    xBase: 10,
    yLog: true,
    series: [
      ...degrees.map((d) => ({ name: `gridkey d=${d}`, points: byDegree(d).map((g) => pt(g.n, perSize(g).leaveWraps)) })),
      flatLine,
      { name: "LKH bound d·⌈log_d n⌉, d=4", dashed: true, color: "#777777", points: graphs.filter((g) => g.degree === 4).map((g) => ({ x: g.n, y: 4 * ceilLog(4, g.n) })) },
      mlsSeries("filled", "MLS remove, filled tree", (c) => c.remove.ciphertexts, ""),
      mlsSeries("blank", "MLS remove, blank tree", (c) => c.remove.ciphertexts, ""),
    ].filter((s) => s.points.length > 0),
  });
  const bytes = lineChart({
    title: "Bytes multicast per leave vs members",
    subtitle: sub,
    xLabel: "members n (log scale)",
    yLabel: "bytes (log scale)",
    xLog: true,
    xBase: 10,
    yLog: true,
    series: [
      ...degrees.map((d) => ({ name: `gridkey d=${d}`, points: byDegree(d).map((g) => pt(g.n, perSize(g).leaveBytes)) })),
      { name: "flat (measured)", color: "#8c564b", points: flat.filter((f) => f.runs.length > 0).map((f) => pt(f.n, figure(f.runs.map((r) => median(r.bytes)), "bytes"))) },
      mlsSeries("filled", "MLS remove commit, filled tree", (c) => c.remove.bytes, "bytes"),
      mlsSeries("blank", "MLS remove commit, blank tree", (c) => c.remove.bytes, "bytes"),
    ].filter((s) => s.points.length > 0),
  });
  const time = lineChart({
    title: "Time per leave vs members",
    subtitle: `${sub}; gridkey: KeyGraph DO in workerd; MLS: ts-mls in Node`,
    xLabel: "members n (log scale)",
    yLabel: "ms (log scale)",
    xLog: true,
    xBase: 10,
    yLog: true,
    series: [
      ...degrees.map((d) => ({ name: `gridkey d=${d}`, points: byDegree(d).map((g) => pt(g.n, perSize(g).leaveMs)) })),
      { name: "flat in the same DO", color: "#8c564b", points: flat.filter((f) => f.runs.length > 0).map((f) => pt(f.n, figure(f.runs.map((r) => r.msPerOp), "ms"))) },
      mlsSeries("filled", "MLS commit (create), filled", (c) => c.remove.createMs, "ms"),
      mlsSeries("blank", "MLS commit (create), blank", (c) => c.remove.createMs, "ms"),
    ].filter((s) => s.points.length > 0),
    refLines: [{ y: LEAVE_MS_GOAL, label: `goal at n = ${n$(GOAL_N)}: ${LEAVE_MS_GOAL} ms`, color: "#ff7f0e" }],
  });
  return [
    { file: "rekey-wraps.svg", alt: "wraps multicast per leave vs members: gridkey by degree, flat, the LKH bound, MLS", svg: wraps },
    { file: "rekey-bytes.svg", alt: "bytes multicast per leave vs members: gridkey by degree, flat, MLS", svg: bytes },
    { file: "rekey-time.svg", alt: "time per leave vs members: gridkey's KeyGraph DO by degree, flat in the same DO, MLS commit creation", svg: time },
  ];
}
