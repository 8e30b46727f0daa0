// `npm run deploy` (scripts/deploy.mjs, issue 9): the dry run builds the bundle that would
// be uploaded, with no Cloudflare account; the real run refuses, before it touches the
// account, what would break a deployment half way. What needs an account (remote
// migrations, secret listing, the upload) cannot run here; docs/deploy.md says so.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "gridkey-deploy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function deploy(...args: string[]) {
  // No account, and no secret from the caller's shell can leak in.
  const env = { ...process.env, CLOUDFLARE_API_TOKEN: "", CLOUDFLARE_ACCOUNT_ID: "", MASTER_KEYS: undefined, MASTER_KEY_CURRENT: undefined, BOOTSTRAP_TOKEN: undefined };
  const r = spawnSync(process.execPath, [join(ROOT, "scripts/deploy.mjs"), ...args], { cwd: ROOT, encoding: "utf8", env, timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** wrangler.toml as an operator would have it after `wrangler d1 create`. */
function configWithDatabase(): string {
  const path = join(dir, "wrangler.toml");
  writeFileSync(path, readFileSync(join(ROOT, "wrangler.toml"), "utf8").replace(/database_id = "[^"]*"/, 'database_id = "3f1c2b7e-0d5a-4c8e-9b6f-1a2b3c4d5e6f"'));
  return path;
}

describe("npm run deploy", () => {
  it("--dry-run builds the Worker bundle without an account", () => {
    const outdir = join(dir, "bundle");
    const { code, out } = deploy("--dry-run", "--outdir", outdir);
    expect(code, out.slice(-2000)).toBe(0);
    const bundle = join(outdir, "index.js");
    expect(existsSync(bundle)).toBe(true);
    expect(statSync(bundle).size).toBeGreaterThan(100_000);
    // The entry exports the fetch/scheduled handler and both Durable Object classes.
    const source = readFileSync(bundle, "utf8");
    expect(source).toMatch(/export\s*\{[^}]*\bConcentrator\b[^}]*\}/);
    expect(source).toMatch(/export\s*\{[^}]*\bKeyGraph\b[^}]*\}/);
    expect(source).toMatch(/export\s*\{[^}]*\bas default\b[^}]*\}/);
    expect(out).toContain("--dry-run: exiting now.");
  });

  it("refuses to deploy with the placeholder D1 database id", () => {
    const { code, out } = deploy();
    expect(code).toBe(1);
    expect(out).toContain("placeholder D1 database_id");
    expect(out).not.toContain("wrangler 4"); // wrangler never ran
  });

  it("refuses a malformed secrets file, naming what is wrong and never a value", () => {
    const config = configWithDatabase();
    const secrets = join(dir, "bad.env");
    writeFileSync(secrets, "MASTER_KEYS=1:00112233,7:zz\nMASTER_KEY_CURRENT=3\nBOOTSTRAP_TOKEN=hunter2\n", { mode: 0o600 });
    const { code, out } = deploy("--config", config, "--secrets-file", secrets);
    expect(code).toBe(1);
    expect(out).toContain("MASTER_KEYS is not version:64-hex-digits");
    expect(out).toContain("MASTER_KEY_CURRENT does not name a version in MASTER_KEYS");
    expect(out).toContain("BOOTSTRAP_TOKEN must be 32-200 characters");
    expect(out).not.toMatch(/00112233|hunter2/);
    expect(out).not.toContain("wrangler 4");
  });

  it("--new-secrets writes a fresh 0600 file custody accepts, and never overwrites one", () => {
    const path = join(dir, "gridkey.secrets");
    const first = deploy("--new-secrets", path);
    expect(first.code, first.out).toBe(0);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, "utf8");
    expect(text).toMatch(/^MASTER_KEYS=1:[0-9a-f]{64}$/m);
    expect(text).toMatch(/^MASTER_KEY_CURRENT=1$/m);
    const token = /^BOOTSTRAP_TOKEN=(gk_[A-Za-z0-9_-]{43})$/m.exec(text)?.[1];
    expect(token).toBeDefined();
    expect(first.out).not.toContain(token!);
    const again = deploy("--new-secrets", path);
    expect(again.code).toBe(1);
    expect(readFileSync(path, "utf8")).toBe(text);
  });
});
