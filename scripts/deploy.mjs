// `npm run deploy`: put gridkey on Cloudflare (docs/deploy.md). It checks what would make a
// deployment fail half way before anything changes: a real D1 database id, the required
// secrets (set on the Worker, or supplied in a secrets file on the first deploy), then
// applies the D1 migrations to the remote database and deploys the Worker.
//
//   npm run deploy                                   # an existing deployment
//   npm run deploy -- --secrets-file gridkey.secrets # the first one (or to replace secrets)
//   npm run deploy -- --dry-run [--outdir DIR]       # build the bundle only: no account needed
//   npm run deploy -- --new-secrets FILE             # write a fresh secrets file (0600)
//
// Secret values are never printed: only names, and what is wrong with them.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
const PLACEHOLDER_ID = /^0{8}-0{4}-0{4}-0{4}-0{12}$/;
const USAGE = "usage: npm run deploy -- [--dry-run [--outdir DIR]] [--secrets-file FILE] [--config wrangler.toml] | --new-secrets FILE";

class Refusal extends Error {}

function parseArgs(argv) {
  const opts = { dryRun: false, config: join(ROOT, "wrangler.toml") };
  const valued = { "--outdir": "outdir", "--secrets-file": "secretsFile", "--config": "config", "--new-secrets": "newSecrets" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--dry-run") opts.dryRun = true;
    else if (arg === "--help" || arg === "-h") throw new Refusal(USAGE);
    else if (valued[arg] && argv[i + 1] !== undefined) opts[valued[arg]] = argv[++i];
    else throw new Refusal(`unknown or incomplete argument ${arg}\n${USAGE}`);
  }
  opts.config = resolve(opts.config);
  if (opts.secretsFile) opts.secretsFile = resolve(opts.secretsFile);
  return opts;
}

/** Runs the project's own wrangler; `capture` returns its output instead of showing it. */
function wrangler(args, { capture = false } = {}) {
  const result = spawnSync(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit",
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  return { ok: result.status === 0, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

// wrangler.toml is ours and simple: a few lines of it are read with patterns rather than a
// TOML parser the project would otherwise not need.
function databaseId(toml) {
  return /^\s*database_id\s*=\s*"([^"]*)"/m.exec(toml)?.[1];
}

function requiredSecrets(toml) {
  const list = /^\[secrets\][^[]*?^\s*required\s*=\s*\[([^\]]*)\]/ms.exec(toml)?.[1] ?? "";
  return [...list.matchAll(/"([A-Z0-9_]+)"/g)].map((m) => m[1]);
}

function checkDatabase(toml) {
  const id = databaseId(toml);
  if (!id || PLACEHOLDER_ID.test(id)) {
    throw new Refusal(
      "wrangler.toml still has the placeholder D1 database_id.\n" +
        "  Create the database (npx wrangler d1 create gridkey) and put the database_id it prints in wrangler.toml.",
    );
  }
}

/** KEY=VALUE lines (or a JSON object), as `wrangler deploy --secrets-file` reads them. */
function readSecretsFile(path) {
  const text = readFileSync(path, "utf8");
  if (text.trimStart().startsWith("{")) return JSON.parse(text);
  const out = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
  }
  return out;
}

/**
 * What is wrong with the secrets a file sets, by the rules custody and the token check apply
 * at run time (functions/custody.ts, functions/operator-tokens.ts). A file may set only some
 * secrets (the rest stay as deployed), but the master-key pair always together.
 */
function secretProblems(secrets) {
  const problems = [];
  const has = (name) => secrets[name] !== undefined;
  if (has("MASTER_KEYS") !== has("MASTER_KEY_CURRENT")) problems.push("set MASTER_KEYS and MASTER_KEY_CURRENT together");
  const versions = new Set();
  for (const entry of (secrets.MASTER_KEYS ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d{1,6}):([0-9a-fA-F]{64})$/.exec(entry);
    if (!m || versions.has(Number(m[1]))) problems.push("MASTER_KEYS is not version:64-hex-digits, comma separated, versions distinct");
    else versions.add(Number(m[1]));
  }
  if (has("MASTER_KEYS") && secrets.MASTER_KEYS.trim() === "") problems.push("MASTER_KEYS is empty");
  if (has("MASTER_KEY_CURRENT") && !versions.has(Number(secrets.MASTER_KEY_CURRENT))) problems.push("MASTER_KEY_CURRENT does not name a version in MASTER_KEYS");
  if (has("BOOTSTRAP_TOKEN") && !/^[A-Za-z0-9_-]{32,200}$/.test(secrets.BOOTSTRAP_TOKEN)) problems.push("BOOTSTRAP_TOKEN must be 32-200 characters of A-Z a-z 0-9 _ -");
  return [...new Set(problems)];
}

/** The names a secrets file sets, once its values are known to be well-formed. */
function checkSecretsFile(path, required) {
  if (!existsSync(path)) throw new Refusal(`no secrets file at ${path}`);
  if ((statSync(path).mode & 0o077) !== 0) console.warn(`warning: ${path} is readable by others; chmod 600 it`);
  const secrets = readSecretsFile(path);
  const problems = secretProblems(secrets);
  // wrangler lets the process environment override a dotenv secrets file: refuse the surprise.
  for (const name of required) if (process.env[name] !== undefined) problems.push(`${name} is set in this shell's environment and would override the file`);
  if (problems.length > 0) throw new Refusal(`${path}:\n  ${problems.join("\n  ")}`);
  return Object.keys(secrets);
}

/** Names of the secrets the deployed Worker has, or undefined if they cannot be listed. */
function deployedSecretNames() {
  const listed = wrangler(["secret", "list", "--format", "json"], { capture: true });
  if (!listed.ok) return { error: (listed.stderr || listed.stdout).trim().split("\n").slice(-3).join("\n") };
  const json = listed.stdout.slice(listed.stdout.indexOf("["));
  return { names: JSON.parse(json).map((s) => s.name) };
}

/** Every required secret is on the Worker already or in the file; the first deploy needs the file. */
function checkDeployedSecrets(required, fileNames, secretsFile) {
  const { names, error } = deployedSecretNames();
  if (!names && !secretsFile) {
    throw new Refusal(`cannot list the Worker's secrets:\n${error}\nOn the first deploy the Worker does not exist yet: pass the secrets with --secrets-file FILE (see --new-secrets).`);
  }
  if (!names) console.log("the Worker's secrets could not be listed (a first deploy?): every required secret must be in the file");
  const have = new Set([...(names ?? []), ...fileNames]);
  const missing = required.filter((n) => !have.has(n));
  if (missing.length > 0) {
    throw new Refusal(`${missing.join(", ")} ${names ? "not on the Worker and not in a secrets file" : "not in the secrets file (the Worker's own secrets could not be listed)"}: set each with npx wrangler secret put <NAME>, or in --secrets-file`);
  }
  console.log(`secrets: ${required.map((n) => `${n} (${fileNames.includes(n) ? "from the file" : "on the Worker"})`).join(", ")}`);
}

function newSecrets(path) {
  const token = `gk_${randomBytes(32).toString("base64url")}`;
  const text = [
    "# gridkey deployment secrets. Keep the master key where your security team keeps keys;",
    "# delete this file once it is deployed and stored there.",
    `MASTER_KEYS=1:${randomBytes(32).toString("hex")}`,
    "MASTER_KEY_CURRENT=1",
    `BOOTSTRAP_TOKEN=${token}`,
    "",
  ].join("\n");
  try {
    writeFileSync(path, text, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if (err.code === "EEXIST") throw new Refusal(`${path} exists: gridkey never overwrites a secrets file`);
    throw err;
  }
  console.log(`wrote ${path} (mode 600): master key version 1 and a bootstrap admin token. Nothing was printed.`);
}

function dryRun(outdir, config) {
  const dir = resolve(outdir ?? join(ROOT, ".wrangler", "dry-run"));
  if (!wrangler(["deploy", "--dry-run", "--outdir", dir, "--config", config]).ok) throw new Refusal("the bundle does not build");
  console.log(`bundle: ${join(dir, "index.js")} (${statSync(join(dir, "index.js")).size} bytes)`);
}

function deploy(opts) {
  const toml = readFileSync(opts.config, "utf8");
  const required = requiredSecrets(toml);
  checkDatabase(toml);
  const fileNames = opts.secretsFile ? checkSecretsFile(opts.secretsFile, required) : [];
  checkDeployedSecrets(required, fileNames, opts.secretsFile);
  const config = ["--config", opts.config];
  if (!wrangler(["d1", "migrations", "apply", "DB", "--remote", ...config]).ok) throw new Refusal("the remote D1 migrations failed: nothing was deployed");
  const secrets = opts.secretsFile ? ["--secrets-file", opts.secretsFile] : [];
  if (!wrangler(["deploy", ...config, ...secrets]).ok) throw new Refusal("wrangler deploy failed");
  console.log("deployed. Next: GET /health, then create operator tokens with the bootstrap token (docs/deploy.md §6).");
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.newSecrets) return newSecrets(opts.newSecrets);
  if (opts.dryRun) return dryRun(opts.outdir, opts.config);
  return deploy(opts);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    console.error(`deploy: ${err.message}`);
    process.exit(1);
  }
}
