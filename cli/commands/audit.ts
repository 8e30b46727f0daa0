import type { Command } from "commander";
import type { Client } from "../client";
import { ctx, int } from "../context";
import { EXIT } from "../exit-codes";
import type { Output } from "../output";

type AuditRecord = { seq: number; at: string; actor: string; role: string; action: string; targetType: string; targetId: string; requestId: string; details: Record<string, unknown>; prevHash: string; hash: string };
type Page = { records: AuditRecord[]; next: number | null };
type ChainReport = { ok: boolean; records: number; head: string; firstBroken?: { seq: number; reason: string } };

const PAGE = 1000;

export function auditCommands(program: Command): void {
  const audit = program.command("audit").description("the hash-chained audit log (admin, auditor)");

  audit
    .command("tail")
    .description("the last records (with --json: one JSON record per line)")
    .option("-n, --lines <n>", "how many", int(1, 100_000), 20)
    .option("--after <seq>", "instead: every record after this seq", int(0, Number.MAX_SAFE_INTEGER))
    .option("-f, --follow", "keep printing new records until Ctrl-C")
    .option("--interval <seconds>", "with --follow: seconds between polls", int(1, 3600), 2)
    .action(async (o: { lines: number; after?: number; follow?: boolean; interval: number }, cmd: Command) => {
      const { client, out } = ctx(cmd);
      let after = o.after ?? Math.max(0, (await lastSeq(client)) - o.lines);
      after = await printFrom(client, out, after);
      while (o.follow) {
        await new Promise((r) => setTimeout(r, o.interval * 1000));
        after = await printFrom(client, out, after);
      }
    });

  audit
    .command("verify")
    .description("have gridkey recompute the hash chain; exit 4 if it is broken")
    .action(async (_o, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const r = await client.get<ChainReport>("/audit/verify");
      out.result(r, () => {
        if (r.ok) out.line(`audit chain ok: ${r.records} records, head ${r.head}`);
        else out.line(`audit chain BROKEN at seq ${r.firstBroken?.seq}: ${r.firstBroken?.reason}; ${r.records} records verified before it, last good hash ${r.head}`);
      });
      if (!r.ok) process.exitCode = EXIT.verifyFailed;
    });
}

/** Prints every record after `after`, a page at a time; returns the last seq printed. */
async function printFrom(client: Client, out: Output, after: number): Promise<number> {
  for (;;) {
    const page = await client.get<Page>("/audit", { after, limit: PAGE });
    for (const r of page.records) out.line(out.json ? JSON.stringify(r) : formatRecord(r));
    if (page.records.length > 0) after = page.records.at(-1)!.seq;
    if (page.next === null) return after;
  }
}

function formatRecord(r: AuditRecord): string {
  return [String(r.seq).padStart(7), r.at, `${r.actor} (${r.role})`.padEnd(24), r.action.padEnd(22), `${r.targetType}:${r.targetId}`.padEnd(32), r.requestId].join("  ");
}

/**
 * The newest seq, found with O(log n) one-record reads: seqs run 1, 2, 3 ... without gaps
 * (a gap is a broken chain), so "is there a record after x" is monotone in x.
 */
async function lastSeq(client: Client): Promise<number> {
  const after = async (x: number) => (await client.get<Page>("/audit", { after: x, limit: 1 })).records.length > 0;
  if (!(await after(0))) return 0;
  let lo = 0;
  let hi = 1;
  while (await after(hi)) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await after(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}
