import type { Command } from "commander";
import { ctx, int } from "../context";
import { CliError, EXIT } from "../exit-codes";
import { Progress } from "../progress";

type Status = { current: number; held: number[]; byVersion: { version: number; keys: number; held: boolean }[]; pending: number; unreadable: number; complete: boolean };

export function masterKeyCommands(program: Command): void {
  const mk = program.command("master-key").description("master-key rotation (admin; status: also auditor)");

  mk.command("status")
    .description("versions held, keys per version, what is left to re-seal")
    .action(async (_o, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const s = await client.get<Status>("/master-key");
      out.result(s, () => {
        out.fields({ current: s.current, held: s.held.join(", "), pending: s.pending, unreadable: s.unreadable, complete: s.complete });
        out.line("");
        out.table(s.byVersion, [
          { header: "version", value: (v) => v.version },
          { header: "keys", value: (v) => v.keys },
          { header: "held", value: (v) => v.held },
        ]);
        if (s.unreadable > 0) out.note(`warning: ${s.unreadable} keys are sealed under a version custody does not hold: put that version back in MASTER_KEYS`);
      });
    });

  mk.command("rotate")
    .description("re-seal every stored key under the current version (after MASTER_KEYS/MASTER_KEY_CURRENT name a new one), a chunk per request")
    .option("--chunk <n>", "keys per request", int(1, 1000), 200)
    .option("--once", "one chunk only")
    .action(async (o: { chunk: number; once?: boolean }, cmd: Command) => {
      const { client, out, opts } = ctx(cmd);
      const before = await client.get<Status>("/master-key");
      const progress = new Progress("re-sealing", before.pending, opts.quiet);
      let rewrapped = 0;
      let remaining = before.pending;
      try {
        do {
          const step = await client.post<{ rewrapped: number; remaining: number }>("/master-key/rewrap", { limit: o.chunk });
          rewrapped += step.rewrapped;
          remaining = step.remaining;
          progress.update(Math.min(rewrapped, before.pending));
          if (step.rewrapped === 0 && remaining > 0) {
            throw new CliError("rewrap_stalled", `${remaining} keys left but none could be re-sealed; see \`gridkey master-key status\` (unreadable?)`, EXIT.refused);
          }
        } while (!o.once && remaining > 0);
      } finally {
        progress.finish();
      }
      const result = { current: before.current, rewrapped, remaining };
      out.result(result, () => out.line(`re-sealed ${rewrapped} keys under version ${before.current}; ${remaining} remaining`));
    });
}
