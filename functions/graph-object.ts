import { DurableObject } from "cloudflare:workers";
import { custodyFor } from "./custody";
import { GridkeyError } from "./errors";
import type { EpochRecord, EpochResult, GraphStatus, MemberJoin } from "./key-graph";
import { type RpcResult, rpcResult } from "./rpc";

/** Epochs whose summary (time, wraps, size) is kept for the operator's rekey timeline. */
export const EPOCHS_KEPT = 1000;

/**
 * What both kinds of key graph Durable Object share (key-graph.ts, cover-graph.ts): a `meta`
 * table of settings, a `members` and a `pending` table, membership changes applied at once
 * or queued for a batch, and operations run one at a time. Each kind says how it applies an
 * epoch (`applyEpoch`) and reports its shape (`statusNow`).
 */
export abstract class GraphObject extends DurableObject<Env> {
  protected readonly sql = this.ctx.storage.sql;
  private queue: Promise<unknown> = Promise.resolve();
  private metaRows: Map<string, string> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS epochs (epoch INTEGER PRIMARY KEY, at INTEGER NOT NULL, joined INTEGER NOT NULL, left_count INTEGER NOT NULL, wraps INTEGER NOT NULL, forwards INTEGER NOT NULL, bundle_bytes INTEGER NOT NULL)",
    );
  }

  /**
   * Applies joins and leaves (already checked: joins are not members, leaves are) as one
   * epoch in one transaction; `clearPending` empties the batch queue in that transaction.
   */
  protected abstract applyEpoch(join: MemberJoin[], leave: string[], requestId: string, refresh: boolean, clearPending: boolean): Promise<EpochResult>;
  protected abstract statusNow(): GraphStatus;

  async status(): Promise<RpcResult<GraphStatus>> {
    return this.serial(async () => this.statusNow());
  }

  /** Membership changes (each joiner with its region): applied as one epoch now, or queued for the next flush. */
  async change(join: MemberJoin[], leave: string[], batched: boolean, requestId: string): Promise<RpcResult<{ status: GraphStatus; epoch?: EpochResult }>> {
    return this.serial(async () => {
      this.checkChange(join.map((j) => j.id), leave);
      if (join.length + leave.length === 0) return { status: this.statusNow() };
      if (batched) {
        const now = Date.now();
        this.transaction(() => {
          for (const j of join) this.sql.exec("INSERT OR REPLACE INTO pending (meter_id, op, region, at) VALUES (?, 'join', ?, ?)", j.id, j.region, now);
          for (const m of leave) this.sql.exec("INSERT OR REPLACE INTO pending (meter_id, op, region, at) VALUES (?, 'leave', '', ?)", m, now);
        });
        return { status: this.statusNow() };
      }
      // Idempotent, so that a retry after a failure converges (functions/programs.ts): a join
      // of a member or a leave of a non-member was already applied, and is dropped.
      const j = join.filter((m) => !this.isMember(m.id));
      const l = leave.filter((m) => this.isMember(m));
      if (j.length + l.length === 0) return { status: this.statusNow() };
      const epoch = await this.applyEpoch(j, l, requestId, false, false);
      return { status: this.statusNow(), epoch };
    });
  }

  /** Applies every queued change as one epoch (one bundle), if any. */
  async flush(requestId: string): Promise<RpcResult<EpochResult | undefined>> {
    return this.serial(async () => {
      const rows = this.sql.exec<{ meter_id: string; op: string; region: string }>("SELECT meter_id, op, region FROM pending").toArray();
      if (rows.length === 0) return undefined;
      // A join then leave of a non-member (or the reverse) within one window cancels out.
      const join = rows.filter((r) => r.op === "join" && !this.isMember(r.meter_id)).map((r) => ({ id: r.meter_id, region: r.region }));
      const leave = rows.filter((r) => r.op === "leave" && this.isMember(r.meter_id)).map((r) => r.meter_id);
      const result = join.length + leave.length > 0 ? await this.applyEpoch(join, leave, requestId, false, true) : undefined;
      if (!result) this.sql.exec("DELETE FROM pending");
      return result;
    });
  }

  /** The most recent epochs, oldest first (at most `limit`, and never more than EPOCHS_KEPT). */
  async history(limit: number): Promise<RpcResult<EpochRecord[]>> {
    return this.serial(async () => this.epochRecords("SELECT * FROM (SELECT * FROM epochs ORDER BY epoch DESC LIMIT ?) ORDER BY epoch", limit));
  }

  /** The kept epochs after `epoch`, oldest first. */
  protected epochsAfter(epoch: number): EpochRecord[] {
    return this.epochRecords("SELECT * FROM epochs WHERE epoch > ? ORDER BY epoch", epoch);
  }

  private epochRecords(query: string, ...params: SqlStorageValue[]): EpochRecord[] {
    return this.sql
      .exec<{ epoch: number; at: number; joined: number; left_count: number; wraps: number; forwards: number; bundle_bytes: number }>(query, ...params)
      .toArray()
      .map((r) => ({ epoch: r.epoch, at: r.at, joined: r.joined, left: r.left_count, wraps: r.wraps, forwards: r.forwards, bundleBytes: r.bundle_bytes }));
  }

  /**
   * Which of `meterIds` the graph holds or will hold at its next flush (members, and queued
   * joins): after a failure between the registry write and the graph step, these are the
   * meters a retried removal must still take out (functions/programs.ts).
   */
  async holding(meterIds: string[]): Promise<RpcResult<string[]>> {
    return this.serial(async () => meterIds.filter((m) => this.isMember(m) || this.sql.exec("SELECT 1 FROM pending WHERE meter_id = ? AND op = 'join'", m).toArray().length > 0));
  }

  /** The table of keys this graph keeps sealed under the master key (column `mk`: its version). */
  protected abstract readonly sealedTable: "nodes" | "program_key";
  /** The AAD a row of `sealedTable` was sealed with. */
  protected abstract sealedAad(row: Record<string, SqlStorageValue>): Uint8Array;

  /** Master-key rotation (functions/master-key-rotation.ts): this graph's sealed keys per master-key version. */
  async sealedVersions(): Promise<RpcResult<{ version: number; keys: number }[]>> {
    return this.serial(async () => this.sql.exec<{ version: number; keys: number }>(`SELECT mk AS version, COUNT(*) AS keys FROM ${this.sealedTable} GROUP BY mk ORDER BY mk`).toArray());
  }

  /**
   * Re-seals up to `limit` of this graph's keys from older master-key versions (that custody
   * still holds) under the current one, in one transaction. Run in the queue, so never in
   * the middle of an epoch: every key is readable before and after.
   */
  async rewrap(limit: number): Promise<RpcResult<number>> {
    return this.serial(async () => {
      const custody = await custodyFor(this.env);
      const rows = this.sql
        .exec(`SELECT rowid AS rid, * FROM ${this.sealedTable} WHERE mk != ?`, custody.current)
        .toArray()
        .filter((r) => custody.holds(Number(r.mk)))
        .slice(0, limit);
      const resealed: { rid: SqlStorageValue; mkVersion: number; sealed: string }[] = [];
      for (const row of rows) {
        const aad = this.sealedAad(row);
        const material = await custody.open(Number(row.mk), String(row.sealed), aad);
        resealed.push({ rid: row.rid!, ...(await custody.seal(material, aad)) });
        material.fill(0);
      }
      this.transaction(() => {
        for (const r of resealed) this.sql.exec(`UPDATE ${this.sealedTable} SET mk = ?, sealed = ? WHERE rowid = ?`, r.mkVersion, r.sealed, r.rid);
      });
      return resealed.length;
    });
  }

  private checkChange(join: string[], leave: string[]): void {
    if (!this.meta("program")) throw new GridkeyError("invalid_state", "the key graph is not initialised");
    if (join.some((m) => leave.includes(m)) || new Set(join).size !== join.length || new Set(leave).size !== leave.length) {
      throw new GridkeyError("bad_parameter", "a meter appears twice in one change");
    }
  }

  protected isMember(meterId: string): boolean {
    return this.sql.exec("SELECT 1 FROM members WHERE meter_id = ?", meterId).toArray().length > 0;
  }

  /** Inside an epoch's transaction: its summary for the operator's rekey timeline. */
  protected recordEpoch(r: EpochResult): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO epochs (epoch, at, joined, left_count, wraps, forwards, bundle_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)",
      r.epoch,
      Date.now(),
      r.joined,
      r.left,
      r.wraps,
      r.forwards,
      r.bundleBytes,
    );
    this.sql.exec("DELETE FROM epochs WHERE epoch <= ?", r.epoch - EPOCHS_KEPT);
  }

  protected statusOf(degree: number, height: number): GraphStatus {
    const queue = this.sql.exec<{ n: number; at: number | null }>("SELECT COUNT(*) AS n, MIN(at) AS at FROM pending").one();
    return {
      program: this.meta("program") ?? "",
      degree,
      epoch: Number(this.meta("epoch") ?? 0),
      height,
      members: this.memberCount(),
      pending: queue.n,
      oldestPending: queue.at,
      invocations: Number(this.meta("ic") ?? "0"),
    };
  }

  /**
   * Members, kept in `meta` by each epoch's transaction: a COUNT over a million members on
   * every status would cost more than the epoch itself. Counted once for a graph made before.
   */
  protected memberCount(): number {
    const kept = this.meta("member_count");
    if (kept !== undefined) return Number(kept);
    const n = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM members").one().n;
    this.setMeta({ member_count: n });
    return n;
  }

  /**
   * The settings, read from `meta` once per object: an epoch reads them a dozen times, and a
   * SQLite statement costs more than the lookup. Only this object writes them (`setMeta`);
   * a failed transaction drops the copy (`transaction`).
   */
  protected meta(k: string): string | undefined {
    this.metaRows ??= new Map(this.sql.exec<{ k: string; v: string }>("SELECT k, v FROM meta").toArray().map((r) => [r.k, r.v]));
    return this.metaRows.get(k);
  }

  /** Writes settings in one statement (an epoch writes five). */
  protected setMeta(values: Record<string, string | number>): void {
    const rows = Object.entries(values).map(([k, v]) => [k, String(v)] as const);
    this.sql.exec(`INSERT OR REPLACE INTO meta (k, v) VALUES ${rows.map(() => "(?, ?)").join(", ")}`, ...rows.flat());
    for (const [k, v] of rows) this.metaRows?.set(k, v);
  }

  /** One synchronous transaction; if it rolls back, so does the copy of `meta` it may have changed. */
  protected transaction<T>(writes: () => T): T {
    try {
      return this.ctx.storage.transactionSync(writes);
    } catch (e) {
      this.metaRows = undefined;
      throw e;
    }
  }

  /** One operation at a time (an epoch's crypto is async, its writes one transaction); refusals travel back as values (rpc.ts). */
  protected serial<T>(op: () => Promise<T>): Promise<RpcResult<T>> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return rpcResult(() => run);
  }
}
