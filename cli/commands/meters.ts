import type { Command } from "commander";
import { DEFAULT_BATCH, importMeters } from "../bulk/import";
import { MAX_BATCH } from "../bulk/batches";
import { ctx, int, requireYes, seg } from "../context";
import { usageError } from "../exit-codes";
import type { Ctx } from "../context";

export type Meter = { id: string; kind: string; systemTitle: string; region: string; suite: number; identityCurve: string; identityPublicKey: string; state: string; createdAt: string; updatedAt: string };
type KeyMeta = { id: string; version: number; class: string; state: string; algorithm: string; origin: string; masterKeyVersion: number; createdAt: string; expiresAt: string | null };

export const meterColumns = [
  { header: "id", value: (m: Meter) => m.id },
  { header: "kind", value: (m: Meter) => m.kind },
  { header: "region", value: (m: Meter) => m.region },
  { header: "suite", value: (m: Meter) => m.suite },
  { header: "state", value: (m: Meter) => m.state },
  { header: "system title", value: (m: Meter) => m.systemTitle },
  { header: "updated", value: (m: Meter) => m.updatedAt },
];

export const keyColumns = [
  { header: "key", value: (k: KeyMeta) => k.id },
  { header: "class", value: (k: KeyMeta) => k.class },
  { header: "version", value: (k: KeyMeta) => k.version },
  { header: "state", value: (k: KeyMeta) => k.state },
  { header: "algorithm", value: (k: KeyMeta) => k.algorithm },
  { header: "origin", value: (k: KeyMeta) => k.origin },
  { header: "mk", value: (k: KeyMeta) => k.masterKeyVersion },
  { header: "expires", value: (k: KeyMeta) => k.expiresAt },
];

type EnrollOpts = { id: string; systemTitle: string; region: string; suite: number; publicKey: string; transportKey?: string; kek?: string; guek?: string; ak?: string };

export function meterCommands(program: Command): void {
  const meters = program.command("meters").description("meters: enroll, list, lifecycle, keys (admin, operator; reads also auditor)");

  meters
    .command("enroll")
    .description("enroll one meter (gridkey creates its KEK, GUEK and AK, or imports the manufacturer's)")
    .requiredOption("--id <id>", "meter id")
    .requiredOption("--system-title <hex>", "DLMS system title, 8 bytes hex")
    .requiredOption("--region <region>", "its concentrator region")
    .requiredOption("--suite <n>", "DLMS/COSEM security suite 0, 1 or 2", int(0, 2))
    .requiredOption("--public-key <hex>", "identity public key: SEC1 or SPKI, hex")
    .option("--transport-key <id>", "manufacturer transport key the wrapped keys below are under")
    .option("--kek <hex>", "manufacturer KEK, RFC 3394 wrapped")
    .option("--guek <hex>", "manufacturer GUEK, RFC 3394 wrapped")
    .option("--ak <hex>", "manufacturer AK, RFC 3394 wrapped")
    .action(async (o: EnrollOpts, cmd: Command) => {
      if (!o.transportKey && (o.kek || o.guek || o.ak)) throw usageError("--kek, --guek and --ak are wrapped under a manufacturer transport key: give --transport-key");
      const { client, out } = ctx(cmd);
      const manufacturerKeys = o.transportKey ? { transportKeyId: o.transportKey, kek: o.kek, guek: o.guek, ak: o.ak } : undefined;
      const body = { id: o.id, systemTitle: o.systemTitle, region: o.region, suite: o.suite, identityPublicKey: o.publicKey, manufacturerKeys };
      const m = await client.post<Meter>("/meters", body);
      out.result(m, () => out.fields(m));
    });

  meters
    .command("import <file>")
    .description(`enroll every meter of a CSV or NDJSON file in batches; resumable (docs/cli.md)`)
    .option("--format <format>", "csv or ndjson (default: from the extension or content)")
    .option("--batch-size <n>", `meters per request (default ${DEFAULT_BATCH})`, int(1, MAX_BATCH))
    .option("--state <file>", "resume record (default: <file>.gridkey-state.json)")
    .action(async (file: string, o: { format?: string; batchSize?: number; state?: string }, cmd: Command) => {
      const { client, out, opts } = ctx(cmd);
      const report = await importMeters(client, { file, ...o, quiet: opts.quiet, note: (s) => out.note(s) });
      out.result(report, () => {
        const fresh = report.enrolled;
        const rate = report.seconds > 0 ? Math.round(fresh / report.seconds) : 0;
        out.line(`${report.total} meters in ${report.batches} batches: ${fresh} enrolled now (${rate}/s over ${report.seconds.toFixed(1)} s), ${report.skipped} by an earlier run, ${report.verified} found already enrolled as in the file`);
      });
    });

  meters
    .command("list")
    .description("list meters, filtered, in id order")
    .option("--region <region>")
    .option("--state <state>", "active, suspended or revoked")
    .option("--suite <n>", "0, 1 or 2")
    .option("--kind <kind>", "meter or gateway")
    .option("--limit <n>", "page size", int(1, 1000), 100)
    .option("--cursor <id>", "the next-page cursor a previous page printed")
    .option("--all", "every page")
    .action(async (o: { region?: string; state?: string; suite?: string; kind?: string; limit: number; cursor?: string; all?: boolean }, cmd: Command) => {
      await listMeters(ctx(cmd), o);
    });

  meters
    .command("show <id>")
    .description("one meter, with --keys its key versions (metadata only)")
    .option("--keys", "also list its key versions")
    .action(async (id: string, o: { keys?: boolean }, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const m = await client.get<Meter>(`/meters/${seg(id)}`);
      const keys = o.keys ? (await client.get<{ keys: KeyMeta[] }>(`/meters/${seg(id)}/keys`)).keys : undefined;
      out.result(keys ? { ...m, keys } : m, () => {
        out.fields(m);
        if (keys) {
          out.line("");
          out.table(keys, keyColumns);
        }
      });
    });

  for (const [op, what] of [
    ["suspend", "suspend a meter (reversible): its sessions end and it leaves its programs' key graphs"],
    ["resume", "resume a suspended meter"],
    ["revoke", "revoke a meter for good: its keys are destroyed"],
  ] as const) {
    const c = meters
      .command(`${op} <id>`)
      .description(what)
      .option("--reason <text>", "recorded in the audit log");
    if (op === "revoke") c.option("--yes", "confirm");
    c.action(async (id: string, o: { reason?: string; yes?: boolean }, cmd: Command) => {
      if (op === "revoke") requireYes(o, `revoking meter ${id} destroys its keys and cannot be undone`);
      const { client, out } = ctx(cmd);
      const m = await client.post<Meter>(`/meters/${seg(id)}/${op}`, o.reason ? { reason: o.reason } : {});
      out.result(m, () => out.line(`${m.id}: ${m.state}`));
    });
  }

  meters
    .command("rotate-key <id> <class>")
    .description("start a two-phase change of a meter key (kek, guek or ak); active once the meter acknowledges it")
    .action(async (id: string, keyClass: string, _o, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const k = await client.post<KeyMeta>(`/meters/${seg(id)}/keys/${seg(keyClass)}/rotate`);
      out.result(k, () => out.fields(k));
    });

  meters
    .command("export <id>")
    .description("head-end export: the meter's active keys wrapped under this head-end token's transport key (headend)")
    .action(async (id: string, _o, cmd: Command) => {
      const { client, out } = ctx(cmd);
      type Export = { meterId: string; systemTitle: string; transportKeyId: string; keys: { class: string; dlmsKeyId: number | null; keyId: string; version: number; algorithm: string; wrapped: string }[] };
      const e = await client.get<Export>(`/meters/${seg(id)}/export`);
      out.result(e, () => {
        out.line(`meter ${e.meterId}  system title ${e.systemTitle}  wrapped under transport key ${e.transportKeyId}`);
        out.table(e.keys, [
          { header: "class", value: (k) => k.class },
          { header: "dlms key_id", value: (k) => k.dlmsKeyId },
          { header: "version", value: (k) => k.version },
          { header: "algorithm", value: (k) => k.algorithm },
          { header: "wrapped", value: (k) => k.wrapped },
        ]);
      });
    });
}

async function listMeters({ client, out }: Ctx, o: { region?: string; state?: string; suite?: string; kind?: string; limit: number; cursor?: string; all?: boolean }) {
  const query = { region: o.region, state: o.state, suite: o.suite, kind: o.kind, limit: o.limit };
  let page = await client.get<{ meters: Meter[]; next: string | null }>("/meters", { ...query, cursor: o.cursor });
  if (!o.all) {
    out.result(page, () => {
      out.table(page.meters, meterColumns);
      if (page.next) out.note(`more: --cursor ${page.next}`);
    });
    return;
  }
  const all = [...page.meters];
  while (page.next) {
    page = await client.get("/meters", { ...query, cursor: page.next });
    all.push(...page.meters);
  }
  out.result({ meters: all, next: null }, () => out.table(all, meterColumns));
}
