import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { coverForwardInfo, type CoverEntry, encodeCoverEntry, encodeCoverHeader, encodeCoverSnapshot } from "../wire/cover";
import { merkleRoot } from "../wire/merkle";
import { NODE_KEY_BYTES } from "../wire/rekey";
import { hmacSha256, randomBytes, utf8, wrap } from "./crypto";
import { type Custody, custodyFor } from "./custody";
import { database } from "./db";
import { GridkeyError } from "./errors";
import type { EpochResult, GraphStatus, MemberJoin, MemberUpdate } from "./key-graph";
import { memberView, onRegionPath, packEntries, unpackEntries } from "./member-view";
import { openMeterKek, publishBundle, regionGraphName, sealDrCommand, signForMeters } from "./rekey-bundles";
import { REGION_TREE_DEGREE } from "./region-tree";
import { GraphObject } from "./graph-object";
import { type RpcResult, rpcValue } from "./rpc";

const BUNDLES_KEPT = 16;

/**
 * A cover-keyed DR program (DESIGN.md §4, docs/groups.md §7): no tree of its own. Its key is
 * wrapped under the complete-subtree cover of its members in each of their region trees
 * (KeyGraph.coverWrap), so a meter in k such programs holds its region path plus k keys.
 * Every epoch gives the key a new version equal to the epoch: a departure or a rotation
 * draws a fresh key (multicast: one wrap per cover subtree), a join moves it forward by
 * HMAC (no multicast; the joiner gets it in a snapshot under its KEK).
 */
export class CoverGraph extends GraphObject {
  protected readonly sealedTable = "program_key";

  protected sealedAad(row: Record<string, SqlStorageValue>): Uint8Array {
    return keyAad(this.meta("program")!, Number(row.version));
  }

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS program_key (one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL, mk INTEGER NOT NULL, sealed TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS members (meter_id TEXT PRIMARY KEY, region TEXT NOT NULL, joined INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS pending (meter_id TEXT PRIMARY KEY, op TEXT NOT NULL, region TEXT NOT NULL, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS bundles (epoch INTEGER PRIMARY KEY, header BLOB NOT NULL, entries BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS member_regions (region TEXT PRIMARY KEY, n INTEGER NOT NULL);
    `);
  }

  async init(program: string): Promise<RpcResult<GraphStatus>> {
    return this.serial(async () => {
      const existing = this.meta("program");
      if (existing && existing !== program) throw new GridkeyError("invalid_state", "this key graph belongs to another program");
      if (!existing) {
        this.transaction(() => {
          this.setMeta({ program, epoch: 0, ic: 0 });
        });
      }
      return this.statusNow();
    });
  }

  /**
   * What a member needs for the current key: nothing, the one epoch it missed (the key's
   * forward, or the wrap under its region path given the leaf it holds there), or its key
   * wrapped under its KEK, signed (a new member, or one further behind).
   */
  async memberUpdate(meterId: string, heldEpoch: number, requestId: string, regionLeaf?: number): Promise<RpcResult<MemberUpdate>> {
    return this.serial(async () => {
      const member = this.sql.exec<{ region: string; joined: number }>("SELECT region, joined FROM members WHERE meter_id = ?", meterId).toArray()[0];
      if (!member) throw new GridkeyError("not_a_member", "the meter is not a member of this program");
      const epoch = Number(this.meta("epoch"));
      if (heldEpoch === epoch) return { kind: "current" };
      const bundle = this.sql.exec<{ header: ArrayBuffer; entries: ArrayBuffer }>("SELECT header, entries FROM bundles WHERE epoch = ?", epoch).toArray()[0];
      if (heldEpoch === epoch - 1 && member.joined < epoch && bundle && regionLeaf !== undefined) {
        const wanted = onRegionPath(member.region, regionLeaf, REGION_TREE_DEGREE);
        return { kind: "view", view: memberView(new Uint8Array(bundle.header), unpackEntries(new Uint8Array(bundle.entries)), wanted) };
      }
      return { kind: "snapshot", signed: await this.snapshot(meterId, requestId) };
    });
  }

  async sealCommand(command: Uint8Array, budget: number): Promise<RpcResult<{ apdu: Uint8Array; epoch: number; invocationCounter: number }>> {
    return this.serial(async () => {
      const program = this.meta("program");
      if (!program || !this.storedKey()) throw new GridkeyError("invalid_state", "the program has no members, so no group key");
      const key = await this.openKey(await custodyFor(this.env));
      const invocationCounter = Number(this.meta("ic") ?? "0") + 1;
      if (invocationCounter > budget) throw new GridkeyError("invalid_state", "the group key's counter budget is used up: rotate the program's key");
      this.setMeta({ ic: invocationCounter });
      const apdu = await sealDrCommand(program, key.key, invocationCounter, command);
      key.key.fill(0);
      return { apdu, epoch: Number(this.meta("epoch")), invocationCounter };
    });
  }

  async destroy(): Promise<RpcResult<void>> {
    return this.serial(async () => {
      this.transaction(() => {
        for (const t of ["program_key", "members", "pending", "bundles", "epochs", "member_regions"]) this.sql.exec(`DELETE FROM ${t}`);
        this.setMeta({ member_count: 0 });
      });
    });
  }

  async rotate(requestId: string): Promise<RpcResult<EpochResult>> {
    return this.serial(async () => {
      if (!this.storedKey()) throw new GridkeyError("invalid_state", "the program has no members, so no group key");
      return this.applyEpoch([], [], requestId, true);
    });
  }

  protected async applyEpoch(join: MemberJoin[], leave: string[], requestId: string, rotate = false, clearPending = false): Promise<EpochResult> {
    const custody = await custodyFor(this.env);
    const membersBefore = this.memberCount();
    const program = this.meta("program")!;
    const epoch = Number(this.meta("epoch")) + 1;
    for (const m of leave) if (!this.isMember(m)) throw new GridkeyError("not_a_member", `meter ${m} is not a member`);
    const leaving = new Set(leave);
    const remaining = [
      ...this.sql.exec<{ meter_id: string; region: string }>("SELECT meter_id, region FROM members").toArray().filter((r) => !leaving.has(r.meter_id)).map((r) => ({ id: r.meter_id, region: r.region })),
      ...join,
    ];
    const old = this.storedKey() ? await this.openKey(custody) : undefined;
    let key: Uint8Array | undefined;
    const entries: CoverEntry[] = [];
    if (remaining.length === 0) key = undefined;
    else if (old && leave.length === 0 && !rotate) {
      // Joins only: the key moves forward, which no one can run backwards (backward secrecy).
      key = (await hmacSha256(old.key, coverForwardInfo(epoch))).slice(0, NODE_KEY_BYTES);
      entries.push({ kind: "cover-forward", from: old.version, version: epoch });
    } else {
      // A departure (or a rotation): a fresh key, wrapped for exactly the remaining members.
      key = randomBytes(NODE_KEY_BYTES);
      entries.push(...(await this.coverWraps(remaining, key, epoch, requestId)));
    }
    old?.key.fill(0);
    const encoded = entries.map(encodeCoverEntry);
    const header = encodeCoverHeader({ program, epoch, regionDegree: REGION_TREE_DEGREE, entries: encoded.length, root: merkleRoot(nobleSha256, encoded) });
    const signedHeader = await signForMeters(this.env, custody, header, requestId);
    const sealed = key ? await custody.seal(key, keyAad(program, epoch)) : undefined;
    key?.fill(0);
    const wraps = entries.filter((e) => e.kind === "cover-wrap").length;
    const result: EpochResult = { epoch, joined: join.length, left: leave.length, wraps, forwards: entries.length - wraps, bundleBytes: signedHeader.length + encoded.reduce((n, e) => n + e.length, 0) };

    this.transaction(() => {
      if (sealed) this.sql.exec("INSERT OR REPLACE INTO program_key (one, version, mk, sealed) VALUES (1, ?, ?, ?)", epoch, sealed.mkVersion, sealed.sealed);
      else this.sql.exec("DELETE FROM program_key");
      for (const m of leave) {
        this.sql.exec("UPDATE member_regions SET n = n - 1 WHERE region = (SELECT region FROM members WHERE meter_id = ?)", m);
        this.sql.exec("DELETE FROM members WHERE meter_id = ?", m);
      }
      for (const j of join) {
        this.sql.exec("INSERT INTO members (meter_id, region, joined) VALUES (?, ?, ?)", j.id, j.region, epoch);
        this.sql.exec("INSERT INTO member_regions (region, n) VALUES (?, 1) ON CONFLICT (region) DO UPDATE SET n = n + 1", j.region);
      }
      this.sql.exec("DELETE FROM member_regions WHERE n <= 0");
      if (clearPending) this.sql.exec("DELETE FROM pending"); // a flush: its queue goes with its epoch, or neither
      this.setMeta({ member_count: membersBefore + join.length - leave.length, epoch, ic: 0 });
      this.sql.exec("INSERT INTO bundles (epoch, header, entries) VALUES (?, ?, ?)", epoch, signedHeader, packEntries(encoded));
      this.sql.exec("DELETE FROM bundles WHERE epoch <= ?", epoch - BUNDLES_KEPT);
      this.recordEpoch(result);
    });
    const regions = this.sql.exec<{ region: string }>("SELECT region FROM member_regions ORDER BY region").toArray().map((r) => r.region);
    await publishBundle(this.env, "cover", { program, epoch, degree: REGION_TREE_DEGREE, header: signedHeader, entries: packEntries(encoded) }, regions);
    return result;
  }

  /** One region tree at a time: each wraps the key under the cover of the members it holds. */
  private async coverWraps(members: MemberJoin[], key: Uint8Array, version: number, requestId: string): Promise<CoverEntry[]> {
    const byRegion = new Map<string, string[]>();
    for (const m of members) byRegion.set(m.region, [...(byRegion.get(m.region) ?? []), m.id]);
    const out: CoverEntry[] = [];
    for (const [region, ids] of [...byRegion].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const tree = this.env.KEY_GRAPH.get(this.env.KEY_GRAPH.idFromName(regionGraphName(region)));
      const { wraps } = await rpcValue(tree.coverWrap(ids, key, requestId));
      for (const w of wraps) out.push({ kind: "cover-wrap", version, region, level: w.level, index: w.index, underVersion: w.version, wrapped: w.wrapped });
    }
    return out;
  }

  private async snapshot(meterId: string, requestId: string): Promise<Uint8Array> {
    const custody = await custodyFor(this.env);
    const kek = await openMeterKek(database(this.env.DB), custody, meterId);
    const key = await this.openKey(custody);
    const body = encodeCoverSnapshot({ program: this.meta("program")!, epoch: key.version, wrapped: await wrap(kek, key.key) });
    kek.fill(0);
    key.key.fill(0);
    return signForMeters(this.env, custody, body, requestId);
  }

  private storedKey(): { version: number; mk: number; sealed: string } | undefined {
    return this.sql.exec<{ version: number; mk: number; sealed: string }>("SELECT version, mk, sealed FROM program_key").toArray()[0];
  }

  private async openKey(custody: Custody): Promise<{ version: number; key: Uint8Array }> {
    const row = this.storedKey();
    if (!row) throw new GridkeyError("internal", "the program key is missing");
    return { version: row.version, key: await custody.open(row.mk, row.sealed, keyAad(this.meta("program")!, row.version)) };
  }

  protected statusNow(): GraphStatus {
    return this.statusOf(REGION_TREE_DEGREE, 0);
  }
}

function keyAad(program: string, version: number): Uint8Array {
  return utf8(`gridkey/cover/v1|${program}|${version}`);
}
