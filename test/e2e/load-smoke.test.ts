// `npm run load -- --quick` end to end: a few hundred SDK meters against its own wrangler dev,
// the exit status and the shape of what it prints (operations table, errors, checks, result).
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

function runLoad(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["tsx", "scripts/load.ts", ...args], { env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run load -- --quick", () => {
  it("drives a small fleet, passes every check and prints throughput, percentiles, errors and checks", async () => {
    const { code, stdout, stderr } = await runLoad(["--quick"]);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toMatch(/^gridkey load: 200 meters in 2 regions/m);
    expect(stdout).toMatch(/operation\s+ok\s+per s\s+p50 ms\s+p95 ms\s+p99 ms/);
    for (const op of ["edhoc\\+keys", "reading", "rekey\\.tree", "rekey\\.cover", "dr\\.churn", "dr\\.seal", "dr\\.open", "verify\\.keys"]) {
      expect(stdout).toMatch(new RegExp(`^  ${op}\\s+[1-9][\\d,]*\\s+[\\d.,]+\\s+[\\d.,]+\\s+[\\d.,]+\\s+[\\d.,]+$`, "m"));
    }
    expect(stdout).toContain("errors: none");
    for (const check of ["meter holds the service's current unicast keys", "a reused invocation counter is refused", "every tree member opens the current command", "no departed cover member opens the current command", "audit chain verifies"]) {
      expect(stdout).toMatch(new RegExp(`^  ${check.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s+[1-9]\\d*\\s+0\\s+PASS$`, "m"));
    }
    expect(stdout).not.toMatch(/FAIL/);
    expect(stdout).toMatch(/^result: PASS \(0 failed checks, 0 failed operations\)$/m);
  }, 300_000);

  it("refuses bad usage with exit status 2 before starting anything", async () => {
    const { code, stderr } = await runLoad(["--meters", "ten"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--meters must be an integer/);
  }, 60_000);
});
