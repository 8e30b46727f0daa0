import type { Command } from "commander";
import { ctx, requireYes, seg } from "../context";

export function regionCommands(program: Command): void {
  program
    .command("regions")
    .description("regions and their concentrators (admin)")
    .command("compromise <region>")
    .description("a concentrator presumed compromised: drop its sessions, replace its credentials and broadcast keys, rekey its programs")
    .option("--yes", "confirm")
    .action(async (region: string, o: { yes?: boolean }, cmd: Command) => {
      requireYes(o, `this drops every session in ${region} and replaces its keys`);
      const { client, out } = ctx(cmd);
      const r = await client.post<{ sessionsDropped: number; keysReplaced: string[]; programsRekeyed: string[] }>(`/regions/${seg(region)}/compromise`);
      out.result(r, () => out.fields({ sessionsDropped: r.sessionsDropped, keysReplaced: r.keysReplaced.join(", ") || "(none)", programsRekeyed: r.programsRekeyed.join(", ") || "(none)" }));
    });
}
