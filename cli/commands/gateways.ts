import type { Command } from "commander";
import { ctx } from "../context";
import type { Meter } from "./meters";

export function gatewayCommands(program: Command): void {
  program
    .command("gateways")
    .description("gateways: own identity and sessions, no meter keys (admin, operator)")
    .command("enroll")
    .description("enroll a gateway (list and lifecycle: `meters list --kind gateway`, `meters suspend` ...)")
    .requiredOption("--id <id>", "gateway id")
    .requiredOption("--system-title <hex>", "its own 8-byte system title, hex")
    .requiredOption("--region <region>", "its region")
    .requiredOption("--public-key <hex>", "identity public key: SEC1 or SPKI, hex")
    .action(async (o: { id: string; systemTitle: string; region: string; publicKey: string }, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const g = await client.post<Meter>("/gateways", { id: o.id, systemTitle: o.systemTitle, region: o.region, identityPublicKey: o.publicKey });
      out.result(g, () => out.fields(g));
    });
}
