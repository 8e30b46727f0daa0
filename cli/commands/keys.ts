import type { Command } from "commander";
import { ctx, seg } from "../context";
import { keyColumns } from "./meters";

export function keyCommands(program: Command): void {
  program
    .command("keys")
    .description("stored keys, metadata only (admin, operator, auditor)")
    .command("show <id>")
    .description("every version of one key")
    .action(async (id: string, _o, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const res = await client.get<{ versions: Parameters<(typeof keyColumns)[0]["value"]>[0][] }>(`/keys/${seg(id)}`);
      out.result(res, () => out.table(res.versions, keyColumns));
    });
}
