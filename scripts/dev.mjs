// `npm start`: run gridkey locally under wrangler dev (miniflare), with local D1 and
// Durable Objects. On first start it creates .dev.vars with a fresh development master key
// and bootstrap admin token (printed once), and applies the D1 migrations every start.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";

const DEV_VARS = ".dev.vars";

if (!existsSync(DEV_VARS)) {
  const token = `gk_${randomBytes(32).toString("base64url")}`;
  const vars = [
    "# Development secrets made by `npm start` on first start. Never commit this file.",
    `MASTER_KEYS=1:${randomBytes(32).toString("hex")}`,
    "MASTER_KEY_CURRENT=1",
    `BOOTSTRAP_TOKEN=${token}`,
    "",
  ].join("\n");
  writeFileSync(DEV_VARS, vars, { mode: 0o600 });
  console.log("\nCreated .dev.vars with a development master key.");
  console.log("Bootstrap admin token (shown once; it is also in .dev.vars):\n");
  console.log(`  ${token}\n`);
}

const run = (args, stdin = "inherit") => {
  const result = spawnSync("wrangler", args, { stdio: [stdin, "inherit", "inherit"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

// Local migrations need no confirmation: without a terminal on stdin wrangler proceeds.
run(["d1", "migrations", "apply", "DB", "--local"], "ignore");
const port = process.env.PORT ?? "8787";
run(["dev", "--test-scheduled", "--port", port, ...process.argv.slice(2)]);
