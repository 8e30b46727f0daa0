/**
 * The end of the run, meter by meter: the unicast keys each meter holds are those the
 * service delivers now; its invocation counters were never reused (and a reused one is
 * refused); every current member of each DR program holds the same group key, which opens
 * a command the service seals now, and no departed member opens it; no rekey bundle failed
 * verification; the audit chain verifies.
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import { SdkError } from "../../sdk/index.js";
import { opensCommand, sealCommand, type SealedCommand } from "./dr-commands.js";
import { dataNotification } from "./dlms-reading.js";
import { keyFingerprints, type LoadMeter } from "./fleet.js";
import { forEachLimited } from "./pool.js";
import type { DrProgram } from "./programs.js";
import { codeOf } from "./tally.js";
import { lastAccepted, type Run, sameMap } from "./workload.js";

/** Meters whose counter reuse is tried at the end (each costs one refused reading). */
const REPLAY_SAMPLE = 100;

export async function verifyRun(run: Run): Promise<void> {
  const online = run.fleet.filter((m) => m.online);
  run.checks.expect("every meter came online", online.length === run.fleet.length, () => `${run.fleet.length - online.length} meters never completed EDHOC + keys + a reading`);
  run.log("verify: unicast keys");
  await forEachLimited(online, run.concurrency, (m) => verifyUnicast(run, m));
  run.log("verify: invocation counters");
  await forEachLimited(online.slice(0, REPLAY_SAMPLE), run.concurrency, (m) => verifyReplayRefused(run, m));
  for (const p of run.programs) {
    run.log(`verify: ${p.keying} program, ${p.members.size} members, ${p.departed.size} departed`);
    await verifyGroup(run, p);
  }
  const bundleFailures = ["rekey_invalid", "rekey_untrusted"].reduce((n, code) => n + run.tally.errorsWithCode(code), 0);
  run.checks.expect("every rekey bundle verified", bundleFailures === 0, () => `${bundleFailures} bundles refused by the SDK`);
  const replayed = run.tally.errorsWithCode("reading_replayed") + run.tally.errorsWithCode("replayed_message");
  run.checks.expect("no fresh counter refused as replayed", replayed === 0, () => `${replayed} fresh requests refused as replays`);
  const audit = await run.api.get("/audit/verify");
  run.checks.expect("audit chain verifies", audit.ok === true, () => `broken at ${JSON.stringify(audit.firstBroken)} after ${String(audit.records)} records`);
  run.log(`verify: audit chain of ${String(audit.records)} records`);
}

async function verifyUnicast(run: Run, m: LoadMeter): Promise<void> {
  try {
    const keys = await run.tally.time("verify.keys", () => m.client.fetchKeys());
    const pending = keys.all.filter((k) => k.state !== "active").length;
    const now = keyFingerprints(keys);
    for (const k of keys.all) k.key.fill(0);
    run.checks.expect("meter holds the service's current unicast keys", sameMap(now, m.held) && pending === 0, () => `${m.id}: ${pending} keys not active, or delivered keys differ from those installed`);
  } catch (e) {
    run.checks.expect("meter holds the service's current unicast keys", false, () => `${m.id}: ${codeOf(e)}`);
  }
}

/** Reusing the last counter is refused (reading_replayed); the next fresh one is accepted. */
async function verifyReplayRefused(run: Run, m: LoadMeter): Promise<void> {
  m.counters.replayOnce = true;
  const reading = () => m.client.uploadReading(dataNotification(0, 0, new Date()));
  const refused = await reading().then(
    () => "accepted",
    (e: unknown) => codeOf(e),
  );
  run.checks.expect("a reused invocation counter is refused", refused === "reading_replayed", () => `${m.id}: a reused counter got ${refused}`);
  try {
    const { invocationCounter } = await reading();
    const previous = lastAccepted.get(m.index) ?? 0;
    run.checks.expect("reading counters strictly increase", invocationCounter > previous, () => `${m.id}: accepted ${invocationCounter} after ${previous}`);
    lastAccepted.set(m.index, invocationCounter);
  } catch (e) {
    run.checks.expect("reading counters strictly increase", false, () => `${m.id}: a fresh counter after the replay got ${codeOf(e)}`);
  }
}

async function verifyGroup(run: Run, p: DrProgram): Promise<void> {
  const command = await sealCommand(run.api, p.id);
  const keys = new Set<string>();
  const members = p.memberList.map((i) => run.fleet[i]!).filter((m) => m.online);
  await forEachLimited(members, run.concurrency, async (m) => {
    const name = `every ${p.keying} member opens the current command`;
    try {
      const { epoch, key } = await run.tally.time(`verify.rekey.${p.keying}`, () => m.client.rekey(p.id));
      keys.add(`${epoch}:${bytesToHex(key)}`);
      run.checks.expect(name, epoch === command.epoch && opensCommand(m.client, command), () => `${m.id}: epoch ${epoch}, command of epoch ${command.epoch} not opened`);
    } catch (e) {
      run.checks.expect(name, false, () => `${m.id}: ${codeOf(e)}`);
    }
  });
  run.checks.expect(`every ${p.keying} member holds the same group key`, keys.size === 1, () => `${keys.size} distinct (epoch, key) among ${members.length} members`);
  await forEachLimited([...p.departed].map((i) => run.fleet[i]!), run.concurrency, (m) => verifyDeparted(run, m, p, command));
}

/** A departed member cannot open the command (no key, or a stale one) and is refused a rekey. */
async function verifyDeparted(run: Run, m: LoadMeter, p: DrProgram, command: SealedCommand): Promise<void> {
  let opened: string;
  try {
    opened = opensCommand(m.client, command) ? "opened" : "opened to something else";
  } catch (e) {
    opened = codeOf(e);
  }
  // replayed_command would mean it decrypted: only these two say it could not.
  run.checks.expect(`no departed ${p.keying} member opens the current command`, opened === "decryption_failed" || opened === "rekey_incomplete", () => `${m.id}: ${opened}`);
  if (!m.online) return;
  const rekeyed = await m.client.rekey(p.id).then(
    () => "rekeyed",
    (e: unknown) => (e instanceof SdkError ? e.code : codeOf(e)),
  );
  run.checks.expect(`departed ${p.keying} members are refused a rekey`, rekeyed === "not_a_member", () => `${m.id}: ${rekeyed}`);
}
