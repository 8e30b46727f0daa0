import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { usageError } from "../exit-codes";

export type BulkFormat = "csv" | "ndjson";

/** One meter line of the input, with what resuming needs to recognise it on the server. */
export type InputRecord = { fileLine: number; text: string; id?: string; systemTitle?: string; region?: string; identityPublicKey?: string };

export type Batch = { index: number; records: InputRecord[]; body: string; hash: string };

/** The server's limits per call (docs/api.md). */
export const MAX_BATCH = 20_000;
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export function detectFormat(path: string, text: string, forced?: string): BulkFormat {
  if (forced === "csv" || forced === "ndjson") return forced;
  if (forced) throw usageError(`--format must be csv or ndjson, not ${forced}`);
  if (/\.csv$/i.test(path)) return "csv";
  if (/\.(ndjson|jsonl)$/i.test(path)) return "ndjson";
  return text.trimStart().startsWith("{") ? "ndjson" : "csv";
}

export function readInput(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    throw usageError(`cannot read ${path}`);
  }
}

/**
 * Splits the file into batches of `size` meters in file order. A batch's hash covers exactly
 * the lines it sends, so a resumed run recognises a batch it committed even if other lines of
 * the file were fixed since.
 */
export function splitBatches(text: string, format: BulkFormat, size: number): { header?: string; batches: Batch[]; total: number } {
  const lines = text.split(/\r?\n/);
  const header = format === "csv" ? lines[0]?.trim() : undefined;
  if (format === "csv" && !header) throw usageError("the CSV file has no header row");
  const columns = header?.split(",").map((h) => h.trim()) ?? [];
  const records: InputRecord[] = [];
  lines.forEach((raw, i) => {
    if ((format === "csv" && i === 0) || raw.trim() === "") return;
    records.push({ fileLine: i + 1, text: raw, ...(format === "csv" ? csvKeys(columns, raw) : ndjsonKeys(raw)) });
  });
  if (records.length === 0) throw usageError("the file holds no meters");
  const batches: Batch[] = [];
  for (let start = 0; start < records.length; start += size) {
    const slice = records.slice(start, start + size);
    const body = [...(header ? [header] : []), ...slice.map((r) => r.text)].join("\n") + "\n";
    if (Buffer.byteLength(body) > MAX_BODY_BYTES) throw usageError(`batch ${batches.length + 1} is over 16 MiB; use a smaller --batch-size`);
    const hash = createHash("sha256").update(`${format}\n${body}`).digest("hex");
    batches.push({ index: batches.length, records: slice, body, hash });
  }
  return { header, batches, total: records.length };
}

/** The file line of the server's line `n` of a batch (the CSV header is line 1 of every batch). */
export function fileLineOf(batch: Batch, format: BulkFormat, serverLine: number): number | undefined {
  const offset = format === "csv" ? 2 : 1;
  return batch.records[serverLine - offset]?.fileLine;
}

function csvKeys(columns: string[], raw: string): Partial<InputRecord> {
  const fields = raw.split(",").map((f) => f.trim());
  const get = (name: string) => {
    const i = columns.indexOf(name);
    return i >= 0 && fields[i] ? fields[i] : undefined;
  };
  return { id: get("id"), systemTitle: get("systemTitle"), region: get("region"), identityPublicKey: get("identityPublicKey") };
}

function ndjsonKeys(raw: string): Partial<InputRecord> {
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    const str = (x: unknown) => (typeof x === "string" ? x : undefined);
    return { id: str(v.id), systemTitle: str(v.systemTitle), region: str(v.region), identityPublicKey: str(v.identityPublicKey) };
  } catch {
    return {}; // the server reports the line as malformed_body
  }
}
