import type { Command } from "commander";
import { ctx } from "../context";
import { usageError } from "../exit-codes";
import { readSecretFile } from "../token";

type TransportKey = { id: string; name: string; purpose: string; keyId: string; createdAt: string; createdBy: string };

export function transportKeyCommands(program: Command): void {
  const tk = program.command("transport-keys").description("keys shared with manufacturers (import) and head-ends (export)");

  tk.command("import")
    .description("import a transport key (admin); the key is read from a mode-600 file, never from the command line")
    .requiredOption("--name <name>", "whose key it is")
    .requiredOption("--purpose <purpose>", "manufacturer or headend")
    .requiredOption("--key-file <file>", "the AES-128 or AES-256 key, hex")
    .action(async (o: { name: string; purpose: string; keyFile: string }, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const key = readSecretFile(o.keyFile, "key file");
      if (!/^[0-9a-fA-F]+$/.test(key)) throw usageError(`the key file ${o.keyFile} must hold the key as hex`);
      const t = await client.post<TransportKey>("/transport-keys", { name: o.name, purpose: o.purpose, key });
      out.result(t, () => out.fields(t));
    });

  tk.command("list")
    .description("list transport keys (admin, operator, auditor)")
    .action(async (_o, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const res = await client.get<{ transportKeys: TransportKey[] }>("/transport-keys");
      out.result(res, () =>
        out.table(res.transportKeys, [
          { header: "id", value: (t) => t.id },
          { header: "name", value: (t) => t.name },
          { header: "purpose", value: (t) => t.purpose },
          { header: "created", value: (t) => t.createdAt },
          { header: "by", value: (t) => t.createdBy },
        ]),
      );
    });
}
