// Smoke test of the benchmark harness (issue 6): `npm run bench -- --smoke` (seconds: tiny N,
// one run) starts gridkey and the limit worker under wrangler dev, measures, stops them, and
// emits well-formed results. The numbers themselves are not checked here: only that they exist.
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
    const child = spawn(process.execPath, ["--import", "tsx", "bench/run.ts", "--smoke", "--out", out], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    // SIGTERM lets the bench stop the servers it started.
    const timer = setTimeout(() => child.kill("SIGTERM"), 100_000);
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

describe("npm run bench -- --smoke", () => {
  it("runs, stops what it started, and writes a page, results.json and the throughput plot", async () => {
    const { code, stdout, stderr } = await runSmoke();
    expect(code, stderr.slice(-3000)).toBe(0);

    const results = JSON.parse(readFileSync(join(out, "bench", "results.json"), "utf8"));
    expect(results.schema).toBe("gridkey-bench/1");
    expect(results.profile.name).toBe("smoke");
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
    expect(results.pending.some((p: any) => p.items.includes("1"))).toBe(true);

    const page = readFileSync(join(out, "benchmarks.md"), "utf8");
    expect(page).toContain("| item | measure | gridkey | comparison | ratio | expected |");
    expect(stdout).toContain(page.split("\n")[0]);
    expect(existsSync(join(out, "bench", "throughput.svg"))).toBe(true);
    const svg = readFileSync(join(out, "bench", "throughput.svg"), "utf8");
    expect(svg.startsWith("<svg ")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  }, 120_000);
});
