// Starts gridkey under `wrangler dev` (miniflare) for the black-box tests: its own port,
// state directory and freshly made secrets, so it never touches a developer's .dev.vars
// or .wrangler state. Node side only.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** `state`: the persisted D1 and Durable Object state (tests that tamper with storage use it). */
export type DevServer = { url: string; token: string; state: string; restart(): Promise<void>; stop(): Promise<void> };

/**
 * `vars`: worker vars to set on top of wrangler.toml's (e.g. the edge rate limits).
 * `cwd`: the folder whose wrangler.toml to run (the bench's limit worker has its own).
 */
/** `vars`: the worker's own variables (its .env file); `wranglerEnv`: settings of wrangler itself, added to its process environment. */
export async function startDevServer(vars: Record<string, string> = {}, cwd = process.cwd(), wranglerEnv: Record<string, string> = {}): Promise<DevServer> {
  const dir = mkdtempSync(join(tmpdir(), "gridkey-e2e-"));
  const token = `gk_${randomBytes(32).toString("base64url")}`;
  const envFile = join(dir, ".env");
  writeFileSync(envFile, `MASTER_KEYS=1:${randomBytes(32).toString("hex")}\nMASTER_KEY_CURRENT=1\nBOOTSTRAP_TOKEN=${token}\n${extraVars(vars)}`, { mode: 0o600 });
  const state = join(dir, "state");
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", ...wranglerEnv };
  const migrate = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { cwd, env, stdio: "pipe" });
  if (migrate.status !== 0) throw new Error(`migrations failed: ${migrate.stderr}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn("npx", ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--env-file", envFile, "--show-interactive-dev-session=false", "--inspector-port", String(await freePort())], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let log = "";
    child.stdout!.on("data", (d) => (log += d));
    child.stderr!.on("data", (d) => (log += d));
    await waitForHealth(url, () => log);
  };
  const kill = async () => {
    if (!child?.pid) return;
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    process.kill(-child.pid, "SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  };
  await launch();
  return {
    url,
    token,
    state,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function extraVars(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([name, value]) => {
      if (!/^[A-Z][A-Z0-9_]*$/.test(name) || /[\r\n]/.test(value)) throw new Error(`bad var ${name}`);
      return `${name}=${value}\n`;
    })
    .join("");
}

async function waitForHealth(url: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev did not become healthy:\n${log()}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}
