import { resolve } from "node:path";
import type { Client } from "../client";
import { CliError, EXIT, usageError } from "../exit-codes";
import { Progress } from "../progress";
import { type Batch, type BulkFormat, detectFormat, fileLineOf, MAX_BATCH, readInput, splitBatches } from "./batches";
import { ImportState, lockState } from "./state";
import { verifyEnrolled } from "./verify";

export type ImportOptions = { file: string; format?: string; batchSize?: number; state?: string; quiet: boolean; note: (s: string) => void };
export type ImportReport = { total: number; enrolled: number; skipped: number; verified: number; batches: number; seconds: number; state: string };

export const DEFAULT_BATCH = 5_000;
const CONTENT_TYPE: Record<BulkFormat, string> = { csv: "text/csv", ndjson: "application/x-ndjson" };

/**
 * Enrolls every meter of a CSV or NDJSON file in batches, resumably. Each batch is all or
 * nothing on the server; the state file says which batches were committed, and which were
 * sent without a recorded answer. Such a batch is checked against the registry before
 * anything is re-sent, so a meter is never enrolled twice and never silently skipped.
 */
export async function importMeters(client: Client, opts: ImportOptions): Promise<ImportReport> {
  const size = opts.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(size) || size < 1 || size > MAX_BATCH) throw usageError(`--batch-size must be 1..${MAX_BATCH}`);
  const text = readInput(opts.file);
  const format = detectFormat(opts.file, text, opts.format);
  const statePath = resolve(opts.state ?? `${opts.file}.gridkey-state.json`);
  const unlock = lockState(statePath);
  try {
    const state = ImportState.open(statePath, { url: client.baseUrl, format, batchSize: size }, opts.batchSize !== undefined);
    const { batches, total } = splitBatches(text, format, state.batchSize);
    return await run(client, state, batches, total, format, opts);
  } finally {
    unlock();
  }
}

async function run(client: Client, state: ImportState, batches: Batch[], total: number, format: BulkFormat, opts: ImportOptions): Promise<ImportReport> {
  const started = Date.now();
  const report: ImportReport = { total, enrolled: 0, skipped: 0, verified: 0, batches: batches.length, seconds: 0, state: state.path };
  const progress = new Progress("enrolling", total, opts.quiet);
  const stop = interruptFlag(opts.note);
  try {
    let done = 0;
    for (const batch of batches) {
      if (stop.requested) throw new CliError("interrupted", `stopped before batch ${batch.index + 1} of ${batches.length}; run the same command again to resume`, EXIT.interrupted);
      const outcome = await enrollBatch(client, state, batch, format, opts.note);
      report[outcome] += batch.records.length;
      done += batch.records.length;
      progress.update(done, report.skipped + report.verified);
    }
  } finally {
    progress.finish();
    stop.release();
  }
  report.seconds = (Date.now() - started) / 1000;
  return report;
}

type Outcome = "enrolled" | "skipped" | "verified";

async function enrollBatch(client: Client, state: ImportState, batch: Batch, format: BulkFormat, note: (s: string) => void): Promise<Outcome> {
  const n = batch.records.length;
  const status = state.statusOf(batch.index, batch.hash);
  if (status === "committed") return "skipped";
  if (status === "sent") {
    // The last run sent this batch and lost the answer: did the server commit it?
    const found = await verifyEnrolled(client, batch.records);
    if (found === "all") {
      state.mark(batch.index, batch.hash, n, "committed");
      note(`batch ${batch.index + 1}: sent by an earlier run whose answer was lost; all ${n} meters are enrolled as in the file`);
      return "verified";
    }
  }
  state.mark(batch.index, batch.hash, n, "sent");
  try {
    await client.postText("/meters/bulk", batch.body, CONTENT_TYPE[format]);
  } catch (err) {
    if (!(err instanceof CliError) || err.code !== "bulk_invalid") throw err; // outcome unknown: stays "sent"
    if (allDuplicates(err, n) && (await verifyEnrolled(client, batch.records)) === "all") {
      // Every meter of the batch is already enrolled exactly as the file says: an earlier
      // request for this batch (answer lost, or a state file lost) committed it.
      note(`batch ${batch.index + 1}: all ${n} meters were already enrolled as in the file`);
      state.mark(batch.index, batch.hash, n, "committed");
      return "verified";
    }
    state.forget(batch.index); // refused as a whole: nothing of it was enrolled
    throw withFileLines(err, batch, format);
  }
  state.mark(batch.index, batch.hash, n, "committed");
  return "enrolled";
}

function allDuplicates(err: CliError, n: number): boolean {
  const details = err.details as { errorCount?: number; errors?: { code: string }[] } | undefined;
  return details?.errorCount === n && (details.errors ?? []).every((e) => e.code === "duplicate_meter");
}

/** The server numbers lines within the batch; people need the line of their file. */
function withFileLines(err: CliError, batch: Batch, format: BulkFormat): CliError {
  const details = err.details as { errorCount?: number; errors?: { line: number }[] } | undefined;
  const errors = (details?.errors ?? []).map((e) => ({ ...e, line: fileLineOf(batch, format, e.line) ?? e.line }));
  const message = `batch ${batch.index + 1} (file lines ${batch.records[0]!.fileLine}-${batch.records.at(-1)!.fileLine}): ${err.message}; earlier batches stay enrolled, fix the file and run again`;
  return new CliError(err.code, message, err.exitCode, { ...details, errors });
}

/** The first Ctrl-C lets the batch in flight finish (its answer is recorded); a second one quits at once. */
function interruptFlag(note: (s: string) => void) {
  const flag = { requested: false, release: () => {} };
  const onSigint = () => {
    if (flag.requested) process.exit(EXIT.interrupted);
    flag.requested = true;
    note("\ninterrupted: finishing the batch in flight (Ctrl-C again to quit now; the next run re-checks it)");
  };
  process.on("SIGINT", onSigint);
  flag.release = () => process.off("SIGINT", onSigint);
  return flag;
}
