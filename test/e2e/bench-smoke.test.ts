// Smoke test of the benchmark harness (issue 6): `npm run bench -- --quick` (the subset the
// README offers, under two minutes) starts gridkey and the limit worker under wrangler dev,
// measures, stops them, and emits well-formed results. The timings themselves are not checked here, only that they exist;
// the rekey section's counts are (wraps within the LKH bound, no wrap on a join, every member
// view bringing the next group key), since they do not depend on the machine.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "gridkey-bench-smoke-"));

afterAll(() => rmSync(out, { recursive: true, force: true }));

function runSmoke(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/run.ts", "--quick", "--out", out], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    // SIGTERM lets the bench stop the servers it started.
    const timer = setTimeout(() => child.kill("SIGTERM"), 400_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

const finite = (v: unknown) => typeof v === "number" && Number.isFinite(v);

function expectFigure(f: any, what: string) {
  expect(f, what).toMatchObject({ unit: expect.any(String), runs: expect.any(Array) });
  for (const k of ["median", "min", "max"]) expect(finite(f[k]), `${what}.${k} = ${f[k]}`).toBe(true);
  expect(f.min).toBeLessThanOrEqual(f.median);
  expect(f.median).toBeLessThanOrEqual(f.max);
}

describe("npm run bench -- --quick", () => {
  it("runs, stops what it started, and writes a page, results.json and the plots", async () => {
    const { code, stdout, stderr } = await runSmoke();
    expect(code, stderr.slice(-3000)).toBe(0);

    const results = JSON.parse(readFileSync(join(out, "bench", "results.json"), "utf8"));
    expect(results.schema).toBe("gridkey-bench/1");
    expect(results.profile.name).toBe("quick");
    expect(results.machine.nproc).toBeGreaterThanOrEqual(1);
    expect(results.machine.node).toMatch(/^v\d+\./);
    expect(results.machine.wrangler).toMatch(/^\d+\.\d+\.\d+$/);
    expect(typeof results.cores.description).toBe("string");

    const sessions = results.sections.find((s: any) => s.id === "sessions");
    expect(sessions.items).toEqual(["3", "4"]);
    expect(sessions.rows.length).toBeGreaterThanOrEqual(5);
    for (const row of sessions.rows) {
      expect(typeof row.item).toBe("string");
      expect(typeof row.measure).toBe("string");
      expectFigure(row.gridkey, row.measure);
      if (row.comparison) expectFigure(row.comparison.value, `${row.measure} comparison`);
      if (row.ratio) expectFigure(row.ratio, `${row.measure} ratio`);
    }
    const levels = sessions.raw.levels.map((l: any) => l.concurrency);
    expect(levels).toEqual([0, ...results.profile.concurrency]);
    for (const l of sessions.raw.levels.filter((l: any) => l.concurrency > 0)) expect(l.handshakesPerSecond.median).toBeGreaterThan(0);
    expect(sessions.raw.summary.limitHandshakesPerSecond.median).toBeGreaterThan(0);
    expect(sessions.raw.summary.meterClientMsPerHandshake.median).toBeGreaterThan(0);
    expect(sessions.raw.recordedResponderOps.ecdh).toBe(3);
    // Item 4's rekey fetch: the probe's program moved one epoch past its snapshot, the
    // concentrator announced it (so it holds the bundle), and fetches were timed idle and under load.
    expect(sessions.raw.rekeyProbe.epoch).toBe(sessions.raw.rekeyProbe.heldEpoch + 1);
    expect(sessions.raw.rekeyProbe.announced).toBe(true);
    for (const l of sessions.raw.levels) expect(l.rekeyPooled.samples, `rekey fetches at N=${l.concurrency}`).toBeGreaterThan(0);
    expect(sessions.rows.filter((r: any) => r.item === "4" && /^Rekey fetch/.test(r.measure))).toHaveLength(2);
    expect(results.pending).toEqual([]);

    const rekey = results.sections.find((s: any) => s.id === "rekey");
    expect(rekey.items).toEqual(["1", "2"]);
    expect(rekey.rows.length).toBeGreaterThanOrEqual(6);
    for (const row of rekey.rows) {
      expect(["1", "2"]).toContain(row.item);
      expectFigure(row.gridkey, row.measure);
      if (row.comparison) expectFigure(row.comparison.value, `${row.measure} comparison`);
      if (row.ratio) expectFigure(row.ratio, `${row.measure} ratio`);
    }
    const { sizes, degrees } = results.profile.rekey;
    expect(rekey.raw.graphs.map((g: any) => `${g.degree}/${g.n}`)).toEqual(degrees.flatMap((d: number) => sizes.map((n: number) => `${d}/${n}`)));
    for (const g of rekey.raw.graphs) {
      const where = `degree ${g.degree}, n = ${g.n}`;
      expect(g.errors, where).toEqual([]);
      let h = 0;
      while (g.degree ** h < g.n) h++;
      for (const r of g.runs) {
        for (const w of r.leave.wraps) expect(w, `leave wraps, ${where}`).toBeLessThanOrEqual(g.degree * h);
        expect(r.leave.wraps.every((w: number) => w > 0), where).toBe(true);
        expect(r.join.wraps, `join wraps, ${where}`).toEqual(r.join.wraps.map(() => 0));
        // A batch never costs more than its departures' full paths; with 10 or more departures
        // the shared upper levels put it well below the estimated sum of single operations.
        expect(r.batch.wraps, `batch wraps, ${where}`).toBeLessThanOrEqual(r.batch.leaving * g.degree * h);
        if (r.batch.leaving >= 10) expect(r.batch.wraps, `batch wraps, ${where}`).toBeLessThan(r.batch.sumOfSingles);
        expect(r.leave.msPerOp).toBeGreaterThan(0);
        expect(r.probe.ms, `host probe, ${where}`).toBeGreaterThan(0);
      }
      // The observer holds its whole path (⌈log_d n⌉ + 1 keys) and processed real views.
      expect(g.heldKeys, where).toBe(h + 1);
      expect(g.member.map((m: any) => m.unwraps)[0], `sibling leave unwraps, ${where}`).toBe(h);
      for (const m of g.member) expect(m.ms.length).toBe(results.profile.rekey.memberSamples);
    }
    for (const f of rekey.raw.flat) for (const r of f.runs) expect(r.wraps).toEqual([f.n - 1]);
    const mlsCases = rekey.raw.mls.cases;
    expect(mlsCases.map((c: any) => `${c.tree}/${c.n}`)).toEqual(results.profile.rekey.mls.cases.map((c: any) => `${c.tree}/${c.n}`));
    for (const c of mlsCases) {
      expect(c.skipped).toBeUndefined();
      expect(c.remove.bytes.every((b: number) => b > 0)).toBe(true);
      expect(c.blankInternalNodes).toBe(c.tree === "blank" ? c.internalNodes : 0);
    }

    const page = readFileSync(join(out, "benchmarks.md"), "utf8");
    expect(page).toContain("| item | measure | gridkey | comparison | ratio | expected |");
    expect(stdout).toContain(page.split("\n")[0]);
    for (const file of ["throughput.svg", "rekey-wraps.svg", "rekey-bytes.svg", "rekey-time.svg"]) {
      expect(existsSync(join(out, "bench", file)), file).toBe(true);
      const svg = readFileSync(join(out, "bench", file), "utf8");
      expect(svg.startsWith("<svg "), file).toBe(true);
      expect(svg.trimEnd().endsWith("</svg>"), file).toBe(true);
    }
  }, 440_000);
});
