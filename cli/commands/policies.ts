import type { Command } from "commander";
import { ctx } from "../context";
import { usageError } from "../exit-codes";

type Policy = {
  scope: string;
  scopeId: string;
  keyClass: string;
  rotationSeconds: number | null;
  maxInvocations: number | null;
  rekeyMode: string | null;
  batchWindowSeconds: number | null;
  graceSeconds: number | null;
  sessionLifetimeSeconds: number | null;
  updatedAt: string;
  updatedBy: string;
};

const FIELDS = ["rotationSeconds", "maxInvocations", "rekeyMode", "batchWindowSeconds", "graceSeconds", "sessionLifetimeSeconds"] as const;
const FLAG: Record<(typeof FIELDS)[number], string> = {
  rotationSeconds: "rotation-seconds",
  maxInvocations: "max-invocations",
  rekeyMode: "rekey-mode",
  batchWindowSeconds: "batch-window-seconds",
  graceSeconds: "grace-seconds",
  sessionLifetimeSeconds: "session-lifetime-seconds",
};

export function policyCommands(program: Command): void {
  const policies = program.command("policies").description("refresh policies (set: admin, operator; show: also auditor)");

  policies
    .command("show")
    .description("every policy as set; with --key-class also the one in force (for a --region or --program)")
    .option("--key-class <class>", "unicast, authentication, kek, broadcast, group or session")
    .option("--region <region>")
    .option("--program <id>")
    .action(async (o: { keyClass?: string; region?: string; program?: string }, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const res = await client.get<{ policies: Policy[]; effective: Record<string, unknown> | null }>("/policies", o);
      out.result(res, () => {
        out.table(res.policies, [
          { header: "scope", value: (p) => (p.scopeId ? `${p.scope}:${p.scopeId}` : p.scope) },
          { header: "class", value: (p) => p.keyClass },
          ...FIELDS.map((f) => ({ header: FLAG[f], value: (p: Policy) => p[f] })),
          { header: "updated", value: (p) => `${p.updatedAt} by ${p.updatedBy}` },
        ]);
        if (res.effective) {
          out.line(`\nin force for ${o.keyClass}${o.region ? ` in region ${o.region}` : ""}${o.program ? ` in program ${o.program}` : ""}:`);
          out.fields(res.effective);
        }
      });
    });

  const set = policies
    .command("set")
    .description("set a policy; a field given as `inherit` is cleared (inherits program -> region -> default -> built-in)")
    .requiredOption("--scope <scope>", "default, region or program")
    .option("--scope-id <id>", "the region or program (not for default)", "")
    .requiredOption("--key-class <class>", "unicast, authentication, kek, broadcast, group or session");
  for (const f of FIELDS) set.option(`--${FLAG[f]} <value>`, f === "rekeyMode" ? "immediate, batched or inherit" : "an integer, or inherit");
  set.action(async (o: Record<string, string>, cmd: Command) => {
    const body: Record<string, unknown> = { scope: o.scope, scopeId: o.scopeId, keyClass: o.keyClass };
    for (const f of FIELDS) {
      const v = o[f];
      if (v === undefined) continue;
      body[f] = v === "inherit" ? null : f === "rekeyMode" ? v : integer(FLAG[f], v);
    }
    if (Object.keys(body).length === 3) throw usageError(`nothing to set: give at least one of ${FIELDS.map((f) => `--${FLAG[f]}`).join(", ")}`);
    const { client, out } = ctx(cmd);
    const p = await client.put<Policy>("/policies", body);
    out.result(p, () => out.fields(p));
  });
}

function integer(flag: string, v: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw usageError(`--${flag} must be an integer or inherit`);
  return Number(v);
}
