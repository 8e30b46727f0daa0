import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { CliError, EXIT, usageError } from "../exit-codes";
import type { BulkFormat } from "./batches";

/**
 * `sent`: the request left but its answer was not recorded (the run died, or the answer was
 * lost), so the server may or may not have committed it. `committed`: the server answered 201.
 */
export type BatchStatus = "sent" | "committed";
type BatchEntry = { hash: string; status: BatchStatus; count: number; at: string };

type StateFile = { version: 1; url: string; format: BulkFormat; batchSize: number; batches: Record<string, BatchEntry> };

/** The resume record of one bulk import, written atomically after every change. */
export class ImportState {
  private constructor(
    readonly path: string,
    private data: StateFile,
  ) {}

  static open(path: string, fresh: Omit<StateFile, "version" | "batches">, batchSizeGiven: boolean): ImportState {
    if (!existsSync(path)) return new ImportState(path, { version: 1, ...fresh, batches: {} });
    let data: StateFile;
    try {
      data = JSON.parse(readFileSync(path, "utf8")) as StateFile;
    } catch {
      throw usageError(`the state file ${path} is not readable JSON; move it away to start over`);
    }
    if (data.version !== 1 || typeof data.batches !== "object") throw usageError(`${path} is not a gridkey import state file`);
    if (data.url !== fresh.url) throw usageError(`the state file ${path} records an import into ${data.url}; use --state for another file`);
    if (data.format !== fresh.format) throw usageError(`the state file ${path} records a ${data.format} import`);
    if (batchSizeGiven && data.batchSize !== fresh.batchSize) {
      throw usageError(`the state file ${path} records batches of ${data.batchSize}; resume with that --batch-size (or leave it out)`);
    }
    return new ImportState(path, data);
  }

  get batchSize(): number {
    return this.data.batchSize;
  }

  /** The status recorded for this batch, if it is recorded for exactly these lines. */
  statusOf(index: number, hash: string): BatchStatus | undefined {
    const entry = this.data.batches[String(index)];
    return entry?.hash === hash ? entry.status : undefined;
  }

  mark(index: number, hash: string, count: number, status: BatchStatus): void {
    this.data.batches[String(index)] = { hash, status, count, at: new Date().toISOString() };
    this.save();
  }

  forget(index: number): void {
    delete this.data.batches[String(index)];
    this.save();
  }

  private save(): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.data, null, 1)}\n`);
    renameSync(tmp, this.path);
  }
}

/** One import per state file at a time: a second run on the same file would race the first. */
export function lockState(path: string): () => void {
  const lock = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx" });
      return () => rmSync(lock, { force: true });
    } catch {
      const pid = Number(readFileSync(lock, "utf8"));
      if (pid && isAlive(pid)) throw new CliError("locked", `another import (pid ${pid}) is using ${path}`, EXIT.usage);
      rmSync(lock, { force: true }); // left by a run that died
    }
  }
  throw new CliError("locked", `cannot lock ${path}`, EXIT.usage);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
