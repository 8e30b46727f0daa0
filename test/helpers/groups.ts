import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { toHex, utf8 } from "../../functions/crypto";
import { custodyFor } from "../../functions/custody";
import { unpackEntries } from "../../functions/member-view";
import { aeskw } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { type CoverEntry, coverForwardInfo, decodeCoverEntry } from "../../wire/cover";
import { decodeEntry, forwardInfo, type RekeyEntry } from "../../wire/rekey";
import { expect } from "vitest";
import { call, unique } from "./http";

export const graphOf = (program: string) => env.KEY_GRAPH.get(env.KEY_GRAPH.idFromName(program));

export async function createProgram(degree = 4, rekeyMode: "immediate" | "batched" = "immediate", keying: "tree" | "cover" = "tree"): Promise<string> {
  const res = await call("POST", "/v1/admin/programs", { json: { name: unique("dr"), degree, rekeyMode, keying } });
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
  return rows.map((r) => ({ epoch: r.epoch, entries: unpackEntries(r.entries).map(decodeEntry) }));
}


/**
 * Everything a holder of `known` keys can learn from the bundles it sees: unwrap what is
 * wrapped under a key it has, move forward what it has an older version of, until nothing
 * changes. The secrecy properties are statements about this closure.
 */
export function closure(known: { level: number; index: number; version: number; key: Uint8Array }[], seen: RekeyEntry[]): Set<string> {
  const held = new Map<string, { version: number; key: Uint8Array }[]>();
  const add = (level: number, index: number, version: number, key: Uint8Array) => {
    const k = `${level}/${index}`;
    const list = held.get(k) ?? [];
    if (list.some((h) => h.version === version)) return false;
    list.push({ version, key });
    held.set(k, list);
    return true;
  };
  for (const k of known) add(k.level, k.index, k.version, k.key);
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of seen) {
      if (e.kind === "forward") {
        const older = (held.get(`${e.level}/${e.index}`) ?? []).find((h) => h.version === e.from);
        if (older) changed = add(e.level, e.index, e.version, hmac(sha256, older.key, forwardInfo(e.level, e.index, e.version)).slice(0, 16)) || changed;
      } else {
        const under = (held.get(`${e.under.level}/${e.under.index}`) ?? []).find((h) => h.version === e.under.version);
        if (under) changed = add(e.node.level, e.node.index, e.node.version, aeskw(under.key).decrypt(e.wrapped)) || changed;
      }
    }
  }
  return new Set([...held.values()].flat().map((h) => toHex(h.key)));
}

export const coverGraphOf = (program: string) => env.COVER_GRAPH.get(env.COVER_GRAPH.idFromName(program));

/** A cover-keyed program's current key, read from its graph's storage for the test's eyes only. */
export async function coverKeyOf(program: string): Promise<{ epoch: number; key: string } | undefined> {
  const row = await runInDurableObject(coverGraphOf(program), async (_i, state) => state.storage.sql.exec<{ version: number; mk: number; sealed: string }>("SELECT version, mk, sealed FROM program_key").toArray()[0]);
  if (!row) return undefined;
  const key = await (await custodyFor(env)).open(row.mk, row.sealed, utf8(`gridkey/cover/v1|${program}|${row.version}`));
  return { epoch: row.version, key: toHex(key) };
}

/** Every bundle a cover graph still keeps, by epoch. */
export async function coverBundles(program: string): Promise<{ epoch: number; entries: CoverEntry[] }[]> {
  const rows = await runInDurableObject(coverGraphOf(program), async (_i, state) =>
    state.storage.sql.exec<{ epoch: number; entries: ArrayBuffer }>("SELECT epoch, entries FROM bundles ORDER BY epoch").toArray().map((r) => ({ epoch: r.epoch, entries: new Uint8Array(r.entries) })),
  );
  return rows.map((r) => ({ epoch: r.epoch, entries: unpackEntries(r.entries).map(decodeCoverEntry) }));
}

/**
 * Everything a holder of region-tree keys (any version) and program keys can learn from a
 * cover-keyed program's bundles: unwrap what is wrapped under a region key it has, move
 * forward a program key it has. Answers the program keys learnt, in hex.
 */
export function coverClosure(regionKeys: { region: string; level: number; index: number; version: number; key: Uint8Array }[], programKeys: { version: number; key: Uint8Array }[], seen: CoverEntry[]): Set<string> {
  const region = new Map(regionKeys.map((k) => [`${k.region}|${k.level}/${k.index}@${k.version}`, k.key]));
  const program = new Map(programKeys.map((k) => [k.version, k.key]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of seen) {
      if (program.has(e.version)) continue;
      let key: Uint8Array | undefined;
      if (e.kind === "cover-forward") {
        const from = program.get(e.from);
        if (from) key = hmac(sha256, from, coverForwardInfo(e.version)).slice(0, 16);
      } else {
        const under = region.get(`${e.region}|${e.level}/${e.index}@${e.underVersion}`);
        if (under) key = aeskw(under).decrypt(e.wrapped);
      }
      if (key) {
        program.set(e.version, key);
        changed = true;
      }
    }
  }
  return new Set([...program.values()].map(toHex));
}

/**
 * Every meter in `ms` asks for the program's key through its session (the SDK checks every
 * signature and proof on the way) and reaches the key the graph holds now (`keyOf`: a tree's
 * root, or with `coverKeyOf` a cover-keyed program's key).
 */
export async function expectAllDerive(program: string, ms: { client: { rekey(program: string): Promise<{ epoch: number; key: Uint8Array }> } }[], keyOf = groupKeyOf): Promise<void> {
  const current = (await keyOf(program))!;
  for (const m of ms) {
    const got = await m.client.rekey(program);
    expect([got.epoch, toHex(got.key)]).toEqual([current.epoch, current.key]);
  }
}
