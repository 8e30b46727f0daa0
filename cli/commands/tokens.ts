import type { Command } from "commander";
import { ctx, int, requireYes, seg } from "../context";

type Token = { id: string; name: string; role: string; transportKeyId: string | null; createdAt: string; createdBy: string; expiresAt: string | null; revokedAt: string | null };

const columns = [
  { header: "id", value: (t: Token) => t.id },
  { header: "name", value: (t: Token) => t.name },
  { header: "role", value: (t: Token) => t.role },
  { header: "expires", value: (t: Token) => t.expiresAt },
  { header: "revoked", value: (t: Token) => t.revokedAt },
  { header: "created", value: (t: Token) => t.createdAt },
];

export function tokenCommands(program: Command): void {
  const tokens = program.command("tokens").description("operator tokens (admin)");

  tokens
    .command("create")
    .description("create a token; it is printed once, on stdout")
    .requiredOption("--name <name>", "who or what holds it")
    .requiredOption("--role <role>", "admin, operator, auditor or headend")
    .option("--expires-in <seconds>", "expire after this many seconds", int(60, 10 * 365 * 86400))
    .option("--transport-key <id>", "headend tokens: the transport key exports are wrapped under")
    .action(async (o: { name: string; role: string; expiresIn?: number; transportKey?: string }, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const body = { name: o.name, role: o.role, expiresInSeconds: o.expiresIn, transportKeyId: o.transportKey };
      const res = await client.post<{ token: string; tokenInfo: Token }>("/tokens", body);
      out.result(res, () => {
        out.line(res.token);
        out.note(`token ${res.tokenInfo.id} (${res.tokenInfo.role}, ${res.tokenInfo.name}) created; it is shown this once: store it now (e.g. in a mode-600 file for --token-file)`);
      });
    });

  tokens
    .command("list")
    .description("list tokens (never the tokens themselves)")
    .action(async (_o, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const res = await client.get<{ tokens: Token[] }>("/tokens");
      out.result(res, () => out.table(res.tokens, columns));
    });

  tokens
    .command("revoke <id>")
    .description("revoke a token at once")
    .option("--yes", "confirm")
    .action(async (id: string, o: { yes?: boolean }, cmd: Command) => {
      requireYes(o, `revoking token ${id} cannot be undone`);
      const { client, out } = ctx(cmd);
      const res = await client.delete<Token>(`/tokens/${seg(id)}`);
      out.result(res, () => out.line(`revoked token ${res.id} (${res.name}) at ${res.revokedAt}`));
    });
}
