import type { Client } from "../client";
import { CliError } from "../exit-codes";
import type { InputRecord } from "./batches";
import { canonicalPublicKey } from "./public-key";

type MeterView = { id: string; systemTitle: string; region: string; identityPublicKey: string };
type Page = { meters: MeterView[]; next: string | null };

const PAGE = 1000;
const CONCURRENCY = 8;

/**
 * Whether the meters of a batch are in the registry as the file describes them (same id,
 * system title, region and identity public key). "all": every one is, so the batch was committed (the server
 * commits a batch whole or not at all); "none": none is; "some": anything else, which only
 * a different enrollment can explain, so the batch is re-sent and the server's per-line
 * report says which meters collide.
 */
export async function verifyEnrolled(client: Client, records: InputRecord[]): Promise<"all" | "none" | "some"> {
  const found = await lookupAll(client, records.map((r) => r.id).filter((id): id is string => Boolean(id)));
  let matching = 0;
  let missing = 0;
  for (const r of records) {
    const m = r.id ? found.get(r.id) : undefined;
    if (!m) missing++;
    else if (sameMeter(m, r)) matching++;
  }
  if (matching === records.length) return "all";
  return missing === records.length ? "none" : "some";
}

function sameMeter(m: MeterView, r: InputRecord): boolean {
  const key = canonicalPublicKey(r.identityPublicKey);
  return m.systemTitle === r.systemTitle?.toUpperCase() && m.region === r.region && key !== undefined && m.identityPublicKey === key;
}

/**
 * The registry's view of these ids. The list route pages in id order (ids are ASCII, so the
 * server's order is JavaScript's), so a batch is read a thousand at a time by scanning from
 * its smallest id to its largest; reading one meter per request is far slower (docs/cli.md). If other
 * meters crowd the range, the scan stops and the rest are read one by one.
 */
async function lookupAll(client: Client, ids: string[]): Promise<Map<string, MeterView>> {
  const wanted = new Set(ids);
  const sorted = [...wanted].sort();
  const out = new Map<string, MeterView>();
  if (sorted.length === 0) return out;
  const first = await lookupOne(client, sorted[0]!);
  if (first) out.set(first.id, first);
  const last = sorted.at(-1)!;
  let cursor: string | null = sorted[0]!;
  let budget = Math.ceil(sorted.length / PAGE) * 4 + 2;
  while (cursor !== null && cursor < last && budget-- > 0) {
    const page: Page = await client.get<Page>("/meters", { cursor, limit: PAGE });
    for (const m of page.meters) if (wanted.has(m.id)) out.set(m.id, m);
    cursor = page.next;
  }
  const scanned = cursor === null || cursor >= last;
  if (!scanned) await lookupEach(client, sorted.filter((id) => !out.has(id) && id > cursor!), out);
  return out;
}

async function lookupEach(client: Client, ids: string[], out: Map<string, MeterView>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const m = await lookupOne(client, ids[next++]!);
      if (m) out.set(m.id, m);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
}

async function lookupOne(client: Client, id: string): Promise<MeterView | undefined> {
  try {
    return await client.get<MeterView>(`/meters/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err instanceof CliError && (err.code === "meter_not_found" || err.code === "validation_failed")) return undefined;
    throw err;
  }
}
