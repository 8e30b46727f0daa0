// Black-box: the `gridkey` operator CLI, spawned as a child process, against gridkey under
// `wrangler dev`. Every assertion is on what the CLI printed and its exit code, or on what
// the API reports afterwards.
import { aeskw } from "@noble/ciphers/aes.js";
import { p256 } from "@noble/curves/nist.js";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fleet, toCsv, toNdjson } from "./cli-fleet";
import { runCli, scratch, secretFile, startCli } from "./cli-run";
import { type DevServer, startDevServer } from "./wrangler-dev";

let server: DevServer;
let dir: string;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** The CLI as the bootstrap admin (GRIDKEY_TOKEN), or with the env given. */
const gk = (args: string[], env: Record<string, string | undefined> = {}) => runCli(args, { GRIDKEY_URL: server.url, GRIDKEY_TOKEN: server.token, ...env }, dir);
const json = async (args: string[], env: Record<string, string | undefined> = {}) => {
  const r = await gk(["--json", ...args], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

function identity(): string {
  return hex(p256.getPublicKey(p256.utils.randomSecretKey(), false));
}
const title = () => hex(randomBytes(8)).toUpperCase();

/** Every audit record, through the CLI's own NDJSON output. */
async function auditRecords(): Promise<{ seq: number; action: string; targetId: string }[]> {
  const r = await gk(["--json", "audit", "tail", "--after", "0"]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split("\n").map((l) => JSON.parse(l));
}

beforeAll(async () => {
  server = await startDevServer();
  dir = scratch();
}, 180_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("gridkey CLI: usage, tokens and failures", () => {
  it("prints help, and refuses bad usage, missing or exposed tokens, bad tokens and dead servers with their exit codes", async () => {
    const help = await gk(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Exit codes");

    expect((await gk(["meters", "frobnicate"])).code).toBe(2);
    const unwrapped = await gk(["meters", "enroll", "--id", "X", "--system-title", title(), "--region", "r", "--suite", "1", "--public-key", identity(), "--kek", "00".repeat(24)]);
    expect(unwrapped.code).toBe(2);
    expect(unwrapped.stderr).toContain("give --transport-key");
    expect((await gk(["meters"])).code).toBe(2);

    const noToken = await gk(["meters", "list"], { GRIDKEY_TOKEN: undefined });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain("error: usage: no token");

    const exposed = secretFile(dir, "exposed-token", server.token, 0o644);
    const open = await gk(["--token-file", exposed, "meters", "list"], { GRIDKEY_TOKEN: undefined });
    expect(open.code).toBe(2);
    expect(open.stderr).toContain(`chmod 600 ${exposed}`);

    const bad = await gk(["meters", "list"], { GRIDKEY_TOKEN: `gk_${randomBytes(32).toString("base64url")}` });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/^error: unauthorized: /);
    const badJson = await gk(["--json", "meters", "list"], { GRIDKEY_TOKEN: "gk_nope" });
    expect(badJson.code).toBe(3);
    expect(JSON.parse(badJson.stderr).error.code).toBe("unauthorized");

    const dead = await gk(["--url", `http://127.0.0.1:${await closedPort()}`, "meters", "list"]);
    expect(dead.code).toBe(3);
    expect(dead.stderr).toMatch(/^error: unreachable: cannot connect/);
  });

  it("creates an operator token shown once, uses it from a mode-600 file, lists and revokes it", async () => {
    const created = await json(["tokens", "create", "--name", "cli-op", "--role", "operator", "--expires-in", "3600"]);
    expect(created.token).toMatch(/^gk_/);
    const file = secretFile(dir, "op-token", created.token);
    const asOperator = { GRIDKEY_TOKEN: undefined };

    expect((await gk(["--token-file", file, "meters", "list"], asOperator)).code).toBe(0);
    const forbidden = await gk(["--token-file", file, "tokens", "list"], asOperator);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/^error: forbidden: /);

    const listed = await json(["tokens", "list"]);
    expect(listed.tokens.map((t: { id: string }) => t.id)).toContain(created.tokenInfo.id);
    expect((await gk(["tokens", "list"])).stdout).toMatch(/cli-op\s+operator/);
    expect(JSON.stringify(listed)).not.toContain(created.token);

    // Without --json the token alone is stdout, so `> file` under umask 077 stores it safely.
    const plain = await gk(["tokens", "create", "--name", "cli-auditor", "--role", "auditor"]);
    expect(plain.stdout).toMatch(/^gk_[A-Za-z0-9_-]{43}\n$/);
    expect((await gk(["audit", "verify"], { GRIDKEY_TOKEN: plain.stdout.trim() })).code).toBe(0);

    expect((await gk(["tokens", "revoke", created.tokenInfo.id])).code).toBe(2);
    const revoked = await json(["tokens", "revoke", created.tokenInfo.id, "--yes"]);
    expect(revoked.revokedAt).not.toBeNull();
    const after = await gk(["--token-file", file, "meters", "list"], asOperator);
    expect(after.code).toBe(3);
    expect(after.stderr).toMatch(/^error: token_revoked: /);
  });
});

describe("gridkey CLI: meters, head-end export, programs, policies, master key, regions", () => {
  it("enrolls one meter, shows and lists it with filters, walks its lifecycle, and prints the API's refusals", async () => {
    const id = `CLI-ONE-${hex(randomBytes(3))}`;
    const enroll = ["meters", "enroll", "--id", id, "--system-title", title(), "--region", "cli-a", "--suite", "1", "--public-key", identity()];
    expect((await json(enroll)).state).toBe("active");
    const again = await gk(enroll);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: duplicate_meter: /);

    const listed = await json(["meters", "list", "--region", "cli-a"]);
    expect(listed.meters.map((m: { id: string }) => m.id)).toEqual([id]);
    expect((await gk(["meters", "list", "--region", "cli-a"])).stdout).toMatch(new RegExp(`^ID\\s+KIND.*\\n${id}\\s+meter\\s+cli-a\\s+1\\s+active`));
    const shown = await json(["meters", "show", id, "--keys"]);
    expect(shown.keys.map((k: { class: string }) => k.class).sort()).toEqual(["ak", "guek", "kek"]);
    expect((await json(["keys", "show", shown.keys[0].id])).versions).toHaveLength(1);

    expect((await json(["meters", "suspend", id, "--reason", "cli test"])).state).toBe("suspended");
    expect((await json(["meters", "list", "--region", "cli-a", "--state", "suspended"])).meters).toHaveLength(1);
    expect((await json(["meters", "resume", id])).state).toBe("active");
    expect((await json(["meters", "rotate-key", id, "guek"])).state).toBe("new");
    expect((await gk(["meters", "revoke", id])).code).toBe(2);
    expect((await json(["meters", "revoke", id, "--yes"])).state).toBe("revoked");
    const refused = await gk(["meters", "resume", id]); // a revoked meter stays revoked
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: invalid_state: /);
    const missing = await gk(["meters", "show", "NO-SUCH-METER"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: meter_not_found: /);

    const gw = await json(["gateways", "enroll", "--id", `CLI-GW-${hex(randomBytes(3))}`, "--system-title", title(), "--region", "cli-a", "--public-key", identity()]);
    expect(gw.kind).toBe("gateway");
  });

  it("imports transport keys from mode-600 files and exports a manufacturer's KEK to a head-end wrapped under its key", async () => {
    const mfrKey = randomBytes(16);
    const heKey = randomBytes(16);
    const exposed = secretFile(dir, "exposed-key", hex(mfrKey), 0o640);
    expect((await gk(["transport-keys", "import", "--name", "mfr-exposed", "--purpose", "manufacturer", "--key-file", exposed])).code).toBe(2);
    const mfr = await json(["transport-keys", "import", "--name", "cli-mfr", "--purpose", "manufacturer", "--key-file", secretFile(dir, "mfr-key", hex(mfrKey))]);
    const he = await json(["transport-keys", "import", "--name", "cli-he", "--purpose", "headend", "--key-file", secretFile(dir, "he-key", hex(heKey))]);
    const listed = await json(["transport-keys", "list"]);
    expect(listed.transportKeys.map((t: { id: string }) => t.id)).toEqual(expect.arrayContaining([mfr.id, he.id]));
    expect(JSON.stringify(listed)).not.toContain(hex(heKey));

    const kek = randomBytes(16);
    const id = `CLI-HE-${hex(randomBytes(3))}`;
    await json(["meters", "enroll", "--id", id, "--system-title", title(), "--region", "cli-a", "--suite", "1", "--public-key", identity(), "--transport-key", mfr.id, "--kek", hex(aeskw(mfrKey).encrypt(kek))]);

    const headend = await json(["tokens", "create", "--name", "cli-headend", "--role", "headend", "--transport-key", he.id]);
    const exported = await json(["meters", "export", id], { GRIDKEY_TOKEN: headend.token });
    const wrappedKek = exported.keys.find((k: { class: string }) => k.class === "kek");
    expect(wrappedKek.dlmsKeyId).toBe(3);
    expect(hex(aeskw(heKey).decrypt(Buffer.from(wrappedKek.wrapped, "hex")))).toBe(hex(kek));
    const notHeadend = await gk(["meters", "export", id]);
    expect(notHeadend.code).toBe(1);
    expect(notHeadend.stderr).toMatch(/^error: forbidden: /);
  });

  it("runs a batched DR program, sets and reads policies, reports the master key and handles a region compromise", async () => {
    const members = fleet("CLI-PRG", 3, "cli-b");
    writeFileSync(join(dir, "program.csv"), toCsv(members));
    expect((await json(["meters", "import", join(dir, "program.csv")])).enrolled).toBe(3);
    const ids = members.map((m) => m.id);
    const program = await json(["programs", "create", "--name", "cli-dr", "--rekey-mode", "batched", "--degree", "2"]);
    const queued = await json(["programs", "members", program.id, "--add", `${ids[0]},${ids[1]}`, "--add", ids[2]!]);
    expect(queued.epoch).toBeNull();
    expect(queued.program.pending).toBe(3);
    const rekeyed = await json(["programs", "rekey", program.id]);
    expect(rekeyed.epoch.joined).toBe(3);
    expect((await gk(["programs", "members", program.id, "--remove", ids[0]!])).stdout).toContain("queued");
    expect((await json(["programs", "rekey", program.id])).program.members).toBe(2);
    expect((await json(["programs", "show", program.id])).epoch).toBe(2);
    expect((await json(["programs", "list"])).programs.map((p: { id: string }) => p.id)).toContain(program.id);
    expect(await json(["programs", "seal-command", program.id, "c001"])).toMatchObject({ signed: expect.stringMatching(/^[0-9a-f]+$/), apdu: expect.stringMatching(/^[0-9a-f]+$/) });
    const cover = await json(["programs", "create", "--name", "cli-cover", "--keying", "cover"]);
    expect(cover).toMatchObject({ keying: "cover" });
    expect((await json(["programs", "members", cover.id, "--add", ids.join(",")])).epoch).toMatchObject({ joined: 3, wraps: 1 });

    await json(["policies", "set", "--scope", "region", "--scope-id", "cli-b", "--key-class", "unicast", "--rotation-seconds", "86400"]);
    expect((await json(["policies", "show", "--key-class", "unicast", "--region", "cli-b"])).effective.rotationSeconds).toBe(86400);
    const tooShort = await gk(["policies", "set", "--scope", "region", "--scope-id", "cli-b", "--key-class", "unicast", "--rotation-seconds", "10"]);
    expect(tooShort.code).toBe(1);
    expect(tooShort.stderr).toMatch(/^error: bad_parameter: /);
    expect((await json(["policies", "set", "--scope", "region", "--scope-id", "cli-b", "--key-class", "unicast", "--rotation-seconds", "inherit"])).rotationSeconds).toBeNull();

    const mk = await json(["master-key", "status"]);
    expect(mk).toMatchObject({ current: 1, pending: 0, unreadable: 0, complete: true });
    expect(await json(["master-key", "rotate"])).toEqual({ current: 1, rewrapped: 0, remaining: 0 });

    expect((await gk(["regions", "compromise", "cli-b"])).code).toBe(2);
    expect((await json(["regions", "compromise", "cli-b", "--yes"])).programsRekeyed).toContain(program.id);

    expect((await gk(["programs", "delete", program.id])).code).toBe(2);
    expect((await json(["programs", "delete", program.id, "--yes"])).deleted).toBe(program.id);
    expect((await gk(["programs", "show", program.id])).code).toBe(1);
  });
});

describe("gridkey CLI: resumable bulk import", () => {
  it("is killed mid-import, resumes, and enrolls every meter exactly once (one audit record each)", async () => {
    const meters = fleet("CLI-BULK", 900, "cli-bulk");
    const file = join(dir, "fleet.ndjson");
    writeFileSync(file, toNdjson(meters));
    const stateFile = `${file}.gridkey-state.json`;

    // Kill -9 the moment the second batch is on its way: its answer is lost for sure.
    const run = startCli(["meters", "import", file, "--batch-size", "300"], { GRIDKEY_URL: server.url, GRIDKEY_TOKEN: server.token }, dir);
    const deadline = Date.now() + 60_000;
    while (batchStatus(stateFile, 1) !== "sent" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    run.child.kill("SIGKILL");
    const killed = await run.done;
    expect(killed.signal).toBe("SIGKILL");
    expect(batchStatus(stateFile, 0)).toBe("committed");
    expect(batchStatus(stateFile, 2)).toBeUndefined();

    const resumed = await json(["meters", "import", file]);
    expect(resumed.total).toBe(900);
    expect(resumed.skipped).toBe(300);
    expect(resumed.enrolled + resumed.verified).toBe(600);
    await expectEnrolledOnce(meters.map((m) => m.id), "cli-bulk");

    // The answer to batch 3 is lost (as if the run died just after the server committed):
    // the next run finds its meters enrolled as in the file and sends nothing.
    const state = JSON.parse(readFileSync(stateFile, "utf8"));
    state.batches["2"].status = "sent";
    writeFileSync(stateFile, JSON.stringify(state));
    const lost = await json(["meters", "import", file]);
    expect(lost).toMatchObject({ enrolled: 0, skipped: 600, verified: 300 });

    // Without its state file a re-run checks every batch and enrolls nobody again.
    const fresh = await json(["meters", "import", file, "--state", join(dir, "other-state.json")]);
    expect(fresh).toMatchObject({ enrolled: 0, verified: 900 });

    // The same ids and system titles with other identity keys are not "already enrolled".
    const regenerated = join(dir, "regenerated.ndjson");
    const others = fleet("X", 900, "cli-bulk");
    writeFileSync(regenerated, toNdjson(meters.map((m, i) => ({ ...m, identityPublicKey: others[i]!.identityPublicKey }))));
    const refused = await gk(["meters", "import", regenerated, "--batch-size", "300"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: bulk_invalid: batch 1 \(file lines 1-300\)/);
    expect(refused.stderr).toContain(`line 1 (${meters[0]!.id}): duplicate_meter`);
    await expectEnrolledOnce(meters.map((m) => m.id), "cli-bulk");
  });

  it("refuses a batch with a bad line by the file's line number, keeps earlier batches, and resumes once the file is fixed", async () => {
    const meters = fleet("CLI-CSV", 500, "cli-csv");
    const file = join(dir, "fleet.csv");
    const good = toCsv(meters);
    const lines = good.split("\n");
    lines[250] = lines[250]!.replace(meters[249]!.systemTitle, "NOT-HEX");
    writeFileSync(file, lines.join("\n"));

    const bad = await gk(["meters", "import", file, "--batch-size", "200"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: bulk_invalid: batch 2 \(file lines 202-401\)/m);
    expect(bad.stderr).toContain(`line 251 (${meters[249]!.id}): bad_hex: systemTitle: not an even-length hex string`);
    expect((await json(["meters", "list", "--region", "cli-csv", "--limit", "1000"])).meters).toHaveLength(200);

    const elsewhere = await gk(["--url", "http://127.0.0.1:9", "meters", "import", file]);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain("records an import into");

    writeFileSync(file, good);
    const fixed = await gk(["meters", "import", file]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain("500 meters in 3 batches: 300 enrolled now");
    expect(fixed.stdout).toContain("200 by an earlier run");
    expect(fixed.stderr).toMatch(/enrolling 500\/500 \(100\.0%\) \d+\/s ETA/);
    await expectEnrolledOnce(meters.map((m) => m.id), "cli-csv");
  });

  it("finishes the batch in flight on Ctrl-C, records it, and exits 130", async () => {
    const meters = fleet("CLI-INT", 400, "cli-int");
    const file = join(dir, "interrupt.ndjson");
    writeFileSync(file, toNdjson(meters));
    const stateFile = `${file}.gridkey-state.json`;
    const run = startCli(["meters", "import", file, "--batch-size", "200"], { GRIDKEY_URL: server.url, GRIDKEY_TOKEN: server.token }, dir);
    const deadline = Date.now() + 60_000;
    while (batchStatus(stateFile, 0) !== "sent" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    run.child.kill("SIGINT");
    const stopped = await run.done;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain("error: interrupted: stopped before batch 2 of 2");
    expect(batchStatus(stateFile, 0)).toBe("committed");
    expect((await json(["meters", "import", file])).enrolled).toBe(200);
    await expectEnrolledOnce(meters.map((m) => m.id), "cli-int");
  });
});

describe("gridkey CLI: audit", () => {
  it("tails the log and surfaces the chain verification, exiting 4 once a record is tampered with", async () => {
    const verified = await json(["audit", "verify"]);
    expect(verified.ok).toBe(true);
    const tail = await gk(["--json", "audit", "tail", "-n", "3"]);
    const seqs = tail.stdout.trim().split("\n").map((l) => JSON.parse(l).seq);
    expect(seqs).toEqual([verified.records - 2, verified.records - 1, verified.records]);
    expect((await gk(["audit", "verify"])).stdout).toContain(`audit chain ok: ${verified.records} records`);

    // Rewrite one record behind gridkey's back, straight in the local D1 file.
    const { DatabaseSync } = await import("node:sqlite");
    const d1 = join(server.state, "v3/d1/miniflare-D1DatabaseObject");
    const file = readdirSync(d1).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")!;
    const db = new DatabaseSync(join(d1, file));
    db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 5").run();
    db.close();

    const broken = await gk(["audit", "verify"]);
    expect(broken.code).toBe(4);
    expect(broken.stdout).toContain("audit chain BROKEN at seq 5: hash does not match the record's contents; 4 records verified before it");
  });
});

function batchStatus(stateFile: string, index: number): string | undefined {
  if (!existsSync(stateFile)) return undefined;
  try {
    return JSON.parse(readFileSync(stateFile, "utf8")).batches[String(index)]?.status;
  } catch {
    return undefined; // caught between write and rename: read again
  }
}

/** Each id is in the registry once, in its region, with exactly one enrollment audit record. */
async function expectEnrolledOnce(ids: string[], region: string): Promise<void> {
  const listed = await json(["meters", "list", "--region", region, "--all", "--limit", "1000"]);
  expect(listed.meters.map((m: { id: string }) => m.id).sort()).toEqual([...ids].sort());
  const wanted = new Set(ids);
  const counts = new Map<string, number>();
  for (const r of await auditRecords()) if (r.action === "meter.enroll" && wanted.has(r.targetId)) counts.set(r.targetId, (counts.get(r.targetId) ?? 0) + 1);
  expect(counts.size).toBe(ids.length);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
