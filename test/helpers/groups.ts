import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { toHex, utf8 } from "../../functions/crypto";
import { custodyFor } from "../../functions/custody";
import { decodeEntry, type RekeyEntry } from "../../wire/rekey";
import { call, unique } from "./http";

export const graphOf = (program: string) => env.KEY_GRAPH.get(env.KEY_GRAPH.idFromName(program));

export async function createProgram(degree = 4, rekeyMode: "immediate" | "batched" = "immediate"): Promise<string> {
  const res = await call("POST", "/v1/admin/programs", { json: { name: unique("dr"), degree, rekeyMode } });
  if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  return res.body.id as string;
}

export async function members(program: string, change: { add?: string[]; remove?: string[] }) {
  return call("POST", `/v1/admin/programs/${program}/members`, { json: change });
}

/** The program's current group key (the tree's root), read from the graph's storage for the test's eyes only. */
export async function groupKeyOf(program: string): Promise<{ epoch: number; key: string } | undefined> {
  const rows = await runInDurableObject(graphOf(program), async (_i, state) => {
    const meta = Object.fromEntries(state.storage.sql.exec<{ k: string; v: string }>("SELECT k, v FROM meta").toArray().map((r) => [r.k, r.v]));
    const root = state.storage.sql.exec<{ version: number; mk: number; sealed: string }>("SELECT version, mk, sealed FROM nodes WHERE level = ? AND idx = 0", Number(meta.height)).toArray()[0];
    return { meta, root };
  });
  if (!rows.root) return undefined;
  const custody = await custodyFor(env);
  const key = await custody.open(rows.root.mk, rows.root.sealed, utf8(`gridkey/graph/v1|${program}|${rows.meta.height}/0|${rows.root.version}`));
  return { epoch: Number(rows.meta.epoch), key: toHex(key) };
}

/** Every entry of every bundle still kept: what anyone listening to the multicast sees. */
export async function bundles(program: string): Promise<{ epoch: number; entries: RekeyEntry[] }[]> {
  const rows = await runInDurableObject(graphOf(program), async (_i, state) =>
    state.storage.sql.exec<{ epoch: number; entries: ArrayBuffer }>("SELECT epoch, entries FROM bundles ORDER BY epoch").toArray().map((r) => ({ epoch: r.epoch, entries: new Uint8Array(r.entries) })),
  );
  return rows.map((r) => ({ epoch: r.epoch, entries: splitEntries(r.entries).map(decodeEntry) }));
}

function splitEntries(blob: Uint8Array): Uint8Array[] {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at < blob.length; ) {
    const n = view.getUint32(at);
    out.push(blob.slice(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}
