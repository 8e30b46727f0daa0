#!/usr/bin/env node
/**
 * `npm run fuzz -- --runs N [--seed S] [files...]`: runs the fuzz suite (test/fuzz) with N
 * cases per property instead of the CI defaults. Each property prints
 * `[fuzz] <count> cases (seed <seed>): <name>`; a failure prints fast-check's counterexample
 * and the seed to replay it with `--seed`. See docs/fuzzing.md.
 */
import { spawnSync } from "node:child_process";

const args = process.argv.slice(2);
const env = { ...process.env };
const files = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--runs" || a === "--seed") {
    const v = args[++i];
    if (!v || !/^-?\d+$/.test(v)) {
      console.error(`${a} takes an integer`);
      process.exit(2);
    }
    env[a === "--runs" ? "FUZZ_RUNS" : "FUZZ_SEED"] = v;
  } else files.push(a);
}
const targets = files.length > 0 ? files : ["test/fuzz/"];
const run = spawnSync("npx", ["vitest", "run", "--project", "unit", "--project", "service", ...targets], { stdio: "inherit", env });
process.exit(run.status ?? 1);
