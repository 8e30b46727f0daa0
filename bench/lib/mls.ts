/**
 * Runs the MLS baseline (bench/mls/mls-bench.ts) in a child process with bench/mls's own
 * dependencies, installed here on first use (`npm ci --prefix bench/mls`): ts-mls pins exact
 * versions of noble that clash with gridkey's, so it never enters the product's tree.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RekeyProfile } from "./model.js";

export type MlsCase = {
  n: number;
  tree: "blank" | "filled";
  skipped?: string;
  buildSeconds?: number;
  samples?: number;
  warmup?: number;
  blankInternalNodes?: number;
  internalNodes?: number;
  remove?: { createMs: number[]; processMs: number[]; bytes: number[]; ciphertexts: number[]; pathNodes: number[] };
  add?: { createMs: number[]; processMs: number[]; bytes: number[]; welcomeBytes: number[]; ciphertexts: number[] };
};

export type MlsRun = { version: string; cases: MlsCase[]; stderr: string; stackSize: string };

export function ensureMls(benchDir: string, log: (m: string) => void): string {
  const dir = join(benchDir, "mls");
  if (!existsSync(join(dir, "node_modules", "ts-mls"))) {
    log("installing the MLS baseline's own dependencies (npm ci --prefix bench/mls)");
    const r = spawnSync("npm", ["ci", "--prefix", dir, "--no-audit", "--no-fund"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`npm ci --prefix bench/mls failed: ${(r.stderr ?? "").slice(-800)}`);
  }
  return dir;
}

/**
 * A group of 10^4 built in one commit recurses once per Add in ts-mls's vector encoder: the
 * child gets a large stack (`ulimit -s unlimited` where allowed, and node --stack-size).
 */
export function runMls(dir: string, spec: RekeyProfile["mls"], log: (m: string) => void): Promise<MlsRun> {
  const version = String((JSON.parse(readFileSync(join(dir, "node_modules", "ts-mls", "package.json"), "utf8")) as { version: string }).version);
  const big = spec.cases.some((c) => c.n > 2000);
  const stackSize = big ? "65500" : "";
  const node = `exec node ${big ? `--stack-size=${stackSize} ` : ""}--import tsx ./mls-bench.ts "$0"`;
  const script = big ? `ulimit -s unlimited 2>/dev/null || ulimit -s hard 2>/dev/null; ${node}` : node;
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script, JSON.stringify(spec)], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    const cases: MlsCase[] = [];
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      let nl;
      while ((nl = out.indexOf("\n")) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (!line.trim()) continue;
        const c = JSON.parse(line) as MlsCase;
        cases.push(c);
        log(`MLS n=${c.n} (${c.tree} tree): ${c.skipped ? `skipped: ${c.skipped}` : `built in ${c.buildSeconds?.toFixed(1)} s`}`);
      }
    });
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.on("error", reject);
    // A case cannot be interrupted from inside (one commit of n adds, say): past the budget
    // and a minute's grace the child is stopped, and the cases it did not finish are reported so.
    const timer = setTimeout(() => {
      log(`MLS: past its budget of ${spec.budgetSeconds} s: stopping the child`);
      err += `\nstopped by the bench after ${spec.budgetSeconds + 60} s`;
      child.kill("SIGKILL");
    }, (spec.budgetSeconds + 60) * 1000);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 && cases.length === 0) reject(new Error(`the MLS child exited ${code ?? signal}: ${err.slice(-800)}`));
      else resolve({ version, cases, stderr: err.slice(-2000), stackSize: stackSize || "Node's default" });
    });
  });
}
