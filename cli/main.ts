// The gridkey operator CLI: every admin API route as a command (docs/cli.md).
import { Command, CommanderError, Option } from "commander";
import { DEFAULT_URL, outputOf } from "./context";
import { CliError, EXIT } from "./exit-codes";
import { auditCommands } from "./commands/audit";
import { gatewayCommands } from "./commands/gateways";
import { keyCommands } from "./commands/keys";
import { masterKeyCommands } from "./commands/master-key";
import { meterCommands } from "./commands/meters";
import { policyCommands } from "./commands/policies";
import { programCommands } from "./commands/programs";
import { regionCommands } from "./commands/regions";
import { tokenCommands } from "./commands/tokens";
import { transportKeyCommands } from "./commands/transport-keys";

const program = new Command("gridkey")
  .description("Operate a gridkey key management service through its admin API.")
  .addOption(new Option("--url <url>", "gridkey's base URL").env("GRIDKEY_URL").default(DEFAULT_URL))
  .option("--token-file <file>", "read the bearer token from this file (mode 600); else GRIDKEY_TOKEN, else ./.dev.vars for a local gridkey")
  .option("--json", "print the API's JSON (errors too, on stderr) instead of tables", false)
  .option("-q, --quiet", "no progress output", false)
  .showHelpAfterError()
  .exitOverride()
  .addHelpText(
    "after",
    "\nExit codes: 0 ok, 1 the API refused (its error code is printed), 2 usage or local file error,\n" +
      "3 cannot reach gridkey / bad token / server error, 4 audit chain broken, 130 interrupted.\nSee docs/cli.md.",
  );

for (const add of [tokenCommands, meterCommands, gatewayCommands, keyCommands, transportKeyCommands, programCommands, policyCommands, masterKeyCommands, auditCommands, regionCommands]) {
  add(program);
}
// Subcommands inherit the root's parse behaviour: usage errors throw instead of exiting 1.
program.commands.forEach(function inherit(c: Command) {
  c.exitOverride().showHelpAfterError();
  c.commands.forEach(inherit);
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = exitCodeOf(err);
}

function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander has printed the message (or the help) already. Help asked for is success;
    // help shown because a subcommand is missing is a usage error.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  const cliError = err instanceof CliError ? err : new CliError("internal", (err as Error)?.stack ?? String(err), EXIT.refused);
  outputOf(program).error(cliError);
  return cliError.exitCode;
}
