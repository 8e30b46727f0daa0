import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { ctx, int, list, requireYes, seg } from "../context";
import { usageError } from "../exit-codes";
import type { Output } from "../output";

type Program = { id: string; name: string; keying: string; degree: number; rekeyMode: string; createdAt: string; members: number; epoch: number; height: number; pending: number };
type Epoch = { epoch: number; joined: number; left: number; wraps: number; forwards: number; bundleBytes: number };

const columns = [
  { header: "id", value: (p: Program) => p.id },
  { header: "name", value: (p: Program) => p.name },
  { header: "keying", value: (p: Program) => p.keying },
  { header: "degree", value: (p: Program) => p.degree },
  { header: "mode", value: (p: Program) => p.rekeyMode },
  { header: "members", value: (p: Program) => p.members },
  { header: "epoch", value: (p: Program) => p.epoch },
  { header: "height", value: (p: Program) => p.height },
  { header: "pending", value: (p: Program) => p.pending },
];

/** The API takes up to 10,000 changes per call (docs/api.md). */
const MAX_CHANGES = 10_000;

export function programCommands(program: Command): void {
  const programs = program.command("programs").description("DR programs: group keys as key trees or covers of region trees (admin, operator; reads also auditor)");

  programs
    .command("create")
    .description("create a DR program")
    .requiredOption("--name <name>")
    .option("--degree <d>", "key tree degree", int(2, 16), 4)
    .option("--rekey-mode <mode>", "immediate or batched", "immediate")
    .option("--keying <keying>", "tree (a key tree of its own) or cover (wrapped under its members' region trees)", "tree")
    .action(async (o: { name: string; degree: number; rekeyMode: string; keying: string }, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const p = await client.post<Program>("/programs", { name: o.name, degree: o.degree, rekeyMode: o.rekeyMode, keying: o.keying });
      out.result(p, () => out.fields(p));
    });

  programs
    .command("list")
    .description("list DR programs")
    .action(async (_o, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const res = await client.get<{ programs: Program[] }>("/programs");
      out.result(res, () => out.table(res.programs, columns));
    });

  programs
    .command("show <id>")
    .description("one DR program: members, epoch, tree height, queued changes")
    .action(async (id: string, _o, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const p = await client.get<Program>(`/programs/${seg(id)}`);
      out.result(p, () => out.fields(p));
    });

  programs
    .command("delete <id>")
    .description("delete a DR program and destroy its keys")
    .option("--yes", "confirm")
    .action(async (id: string, o: { yes?: boolean }, cmd: Command) => {
      requireYes(o, `deleting program ${id} destroys its keys`);
      const { client, out } = ctx(cmd);
      const res = await client.delete<{ deleted: string }>(`/programs/${seg(id)}`);
      out.result(res, () => out.line(`deleted ${res.deleted}`));
    });

  programs
    .command("members <id>")
    .description("add and remove members: rekeys at once, or queues for a batched program")
    .option("--add <ids>", "meter ids to add (comma-separated, repeatable)", list, [])
    .option("--remove <ids>", "meter ids to remove (comma-separated, repeatable)", list, [])
    .option("--add-file <file>", "meter ids to add, one per line")
    .option("--remove-file <file>", "meter ids to remove, one per line")
    .action(async (id: string, o: { add: string[]; remove: string[]; addFile?: string; removeFile?: string }, cmd: Command) => {
      const add = [...o.add, ...idsOf(o.addFile)];
      const remove = [...o.remove, ...idsOf(o.removeFile)];
      if (add.length + remove.length === 0) throw usageError("nothing to change: give --add, --remove, --add-file or --remove-file");
      if (add.length > MAX_CHANGES || remove.length > MAX_CHANGES) throw usageError(`at most ${MAX_CHANGES} additions and ${MAX_CHANGES} removals per call`);
      const { client, out } = ctx(cmd);
      const res = await client.post<{ program: Program; epoch: Epoch | null }>(`/programs/${seg(id)}/members`, { add, remove });
      out.result(res, () => printChange(out, res));
    });

  programs
    .command("rekey <id>")
    .description("rekey now: apply a batched program's queued changes as one epoch")
    .action(async (id: string, _o, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const res = await client.post<{ program: Program; epoch: Epoch | null }>(`/programs/${seg(id)}/rekey`);
      out.result(res, () => printChange(out, res));
    });

  programs
    .command("seal-command <id> <apdu>")
    .description("seal a DR command (an xDLMS APDU, hex) under the program's group key and have central sign it; meters take `signed`")
    .action(async (id: string, apdu: string, _o, cmd: Command) => {
      const { client, out } = ctx(cmd);
      const res = await client.post<{ signed: string; apdu: string; epoch: number; invocationCounter: number }>(`/programs/${seg(id)}/commands`, { command: apdu });
      out.result(res, () => out.fields(res));
    });
}

function idsOf(file?: string): string[] {
  if (!file) return [];
  try {
    return readFileSync(file, "utf8").split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  } catch {
    throw usageError(`cannot read ${file}`);
  }
}

function printChange(out: Output, res: { program: Program; epoch: Epoch | null }): void {
  const p = res.program;
  if (res.epoch) {
    const e = res.epoch;
    out.line(`${p.id}: epoch ${e.epoch}: ${e.joined} joined, ${e.left} left, ${e.wraps} key wraps, ${e.bundleBytes} bundle bytes; ${p.members} members`);
  } else {
    out.line(`${p.id}: no new epoch; ${p.pending} change(s) queued, ${p.members} members, epoch ${p.epoch}`);
  }
}
