// Runs the real `gridkey` bin (bin/gridkey.mjs, as `npx gridkey` does) in a child process.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const BIN = resolve(__dirname, "../../bin/gridkey.mjs");

export type CliResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

/** A scratch directory, also the CLI's cwd: no developer .dev.vars is ever picked up. */
export const scratch = () => mkdtempSync(join(tmpdir(), "gridkey-cli-"));

export function secretFile(dir: string, name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, `${content}\n`, { mode });
  return path;
}

export function startCli(args: string[], env: Record<string, string | undefined>, cwd: string): { child: ChildProcess; done: Promise<CliResult> } {
  const base: Record<string, string | undefined> = { ...process.env, GRIDKEY_TOKEN: undefined, GRIDKEY_URL: undefined };
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...base, ...env } as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<CliResult>((res) => child.on("close", (code, signal) => res({ code, signal, stdout, stderr })));
  return { child, done };
}

export const runCli = (args: string[], env: Record<string, string | undefined>, cwd: string) => startCli(args, env, cwd).done;
