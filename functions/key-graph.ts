import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { merkleRoot } from "../wire/merkle";
import {
  encodeEntry,
  encodeHeader,
  encodeSnapshot,
  forwardInfo,
  NODE_KEY_BYTES,
  type NodeRef,
  type RekeyEntry,
} from "../wire/rekey";
import { hmacSha256, randomBytes, utf8, wrap, wrapUnderEach } from "./crypto";
import { type Custody, custodyFor } from "./custody";
import { database, type Db } from "./db";
import { GridkeyError } from "./errors";
import { GraphObject } from "./graph-object";
import type { RpcResult } from "./rpc";
import { ancestors, heightFor, type NodeId, nodeKey, planEpoch, ref } from "./lkh";
import { completeSubtreeCover, lowerBound } from "./subset-cover";
import { memberView, onTreePath, packEntries, unpackEntries } from "./member-view";
import { openMeterKek, publishBundle, REGION_GRAPH_PREFIX, sealDrCommand, signForMeters } from "./rekey-bundles";

/** Recent bundles kept for members one epoch behind; anyone further behind gets a snapshot. */
const BUNDLES_KEPT = 16;

type NodeKey = { version: number; key: Uint8Array };
type StoredNode = { version: number; mk: number; sealed: string };
/** An epoch's reads of the nodes table (KeyGraph.epochNodes). */
type EpochNodes = { row(n: NodeId): StoredNode | undefined; children(n: NodeId): Map<number, StoredNode> };
export type GraphStatus = {
  program: string;
  degree: number;
  epoch: number;
  height: number;
  members: number;
  pending: number;
  oldestPending: number | null;
  /** DR commands sealed under the current group key (its GCM invocation counter). */
  invocations: number;
};
/** A meter joining a tree, with its region: the graph counts members per region to know where to push its bundles. */
export type MemberJoin = { id: string; region: string };
export type EpochResult = { epoch: number; joined: number; left: number; wraps: number; forwards: number; bundleBytes: number };
/** One applied epoch as the rekey timeline shows it: when, and what its bundle cost. */
export type EpochRecord = EpochResult & { at: number };
/** Bytes only: this crosses the Durable Object RPC boundary. */
export type MemberUpdate = { kind: "current" } | { kind: "view"; view: Uint8Array } | { kind: "snapshot"; signed: Uint8Array };

/**
 * One DR program's key graph (DESIGN.md §4): a logical key hierarchy of degree d in this
 * Durable Object's SQLite storage, every node key sealed under the master key. An epoch
 * reads and writes the O(d·log_d n) nodes around the changed leaves, never the whole tree.
 * Operations run one at a time (`serial`): an epoch's crypto is async, its writes are one
 * synchronous transaction.
 */
export class KeyGraph extends GraphObject {
  protected readonly sealedTable = "nodes";

  protected sealedAad(row: Record<string, SqlStorageValue>): Uint8Array {
    return nodeAad(this.meta("program")!, `${row.level}/${row.idx}`, Number(row.version));
  }

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, version INTEGER NOT NULL, mk INTEGER NOT NULL, sealed TEXT NOT NULL, PRIMARY KEY (level, idx));
      CREATE TABLE IF NOT EXISTS members (meter_id TEXT PRIMARY KEY, leaf INTEGER NOT NULL UNIQUE, joined INTEGER NOT NULL, region TEXT);
      CREATE TABLE IF NOT EXISTS free_leaves (leaf INTEGER PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS pending (meter_id TEXT PRIMARY KEY, op TEXT NOT NULL, at INTEGER NOT NULL, region TEXT);
      CREATE TABLE IF NOT EXISTS bundles (epoch INTEGER PRIMARY KEY, header BLOB NOT NULL, entries BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS member_regions (region TEXT PRIMARY KEY, n INTEGER NOT NULL);
    `);
    // Graphs made before members carried their region: the column comes empty, and publish
    // falls back on the registry for them (publishTargets).
    for (const t of ["members", "pending"]) {
      if (!this.sql.exec<{ name: string }>(`PRAGMA table_info(${t})`).toArray().some((c) => c.name === "region")) this.sql.exec(`ALTER TABLE ${t} ADD COLUMN region TEXT`);
    }
    // publishTargets looks for members without a region at every epoch: an index, not a scan.
    this.sql.exec("CREATE INDEX IF NOT EXISTS members_region ON members (region)");
  }

  /** Creates the graph (idempotent for the same program and degree). */
  async init(program: string, degree: number): Promise<RpcResult<GraphStatus>> {
    return this.serial(async () => {
      const existing = this.meta("program");
      if (existing && (existing !== program || Number(this.meta("degree")) !== degree)) {
        throw new GridkeyError("invalid_state", "this key graph belongs to another program");
      }
      if (!existing) this.initialise(program, degree);
      return this.statusNow();
    });
  }

  /**
   * A region tree's membership follows the registry (functions/region-tree.ts): joins of
   * members and leaves of non-members are dropped, so a retry never doubles anything.
   * Creates the graph on first use. Answers every epoch not yet confirmed audited
   * (`confirmAudited`), this one included: the epoch lives here and its audit record in D1,
   * so an epoch whose record failed is handed out again by the region's next change.
   */
  async adjust(name: string, degree: number, join: string[], leave: string[], requestId: string): Promise<RpcResult<{ applied?: number; unaudited: EpochRecord[] }>> {
    return this.serial(async () => {
      if (!this.meta("program")) this.initialise(name, degree);
      if (this.meta("program") !== name) throw new GridkeyError("invalid_state", "this key graph belongs to another program");
      // A tree from before the outbox: its earlier epochs were audited when they happened.
      if (this.meta("audited_epoch") === undefined) this.setMeta({ audited_epoch: this.meta("epoch") ?? "0" });
      const isMember = (m: string) => this.isMember(m);
      const j = [...new Set(join)].filter((m) => !isMember(m));
      const l = [...new Set(leave)].filter((m) => isMember(m) && !j.includes(m));
      const applied = j.length + l.length > 0 ? (await this.applyEpoch(this.inOwnRegion(j), l, requestId)).epoch : undefined;
      return { applied, unaudited: this.epochsAfter(Number(this.meta("audited_epoch"))) };
    });
  }

  /** The epochs not yet confirmed audited (a region tree's outbox, as `adjust` answers it). */
  async unaudited(): Promise<RpcResult<EpochRecord[]>> {
    return this.serial(async () => this.epochsAfter(Number(this.meta("audited_epoch") ?? this.meta("epoch") ?? 0)));
  }

  /** The caller has audited every epoch up to `epoch` (region trees: region-tree.ts). */
  async confirmAudited(epoch: number): Promise<RpcResult<void>> {
    return this.serial(async () => {
      if (epoch > Number(this.meta("audited_epoch") ?? 0)) this.setMeta({ audited_epoch: epoch });
    });
  }

  /**
   * What a member needs to hold the current group key, given the epoch it holds: nothing,
   * its path's entries of the one epoch it missed (with inclusion proofs against the signed
   * header), or a signed snapshot of its whole path (new members, or more than one epoch behind).
   */
  async memberUpdate(meterId: string, heldEpoch: number, requestId: string): Promise<RpcResult<MemberUpdate>> {
    return this.serial(async () => {
      const member = this.sql.exec<{ leaf: number; joined: number }>("SELECT leaf, joined FROM members WHERE meter_id = ?", meterId).toArray()[0];
      if (!member) throw new GridkeyError("not_a_member", "the meter is not a member of this program");
      const epoch = Number(this.meta("epoch"));
      if (heldEpoch === epoch) return { kind: "current" };
      const bundle = this.sql.exec<{ header: ArrayBuffer; entries: ArrayBuffer }>("SELECT header, entries FROM bundles WHERE epoch = ?", epoch).toArray()[0];
      if (heldEpoch === epoch - 1 && member.joined < epoch && bundle) return { kind: "view", view: this.viewOf(bundle, member.leaf) };
      return { kind: "snapshot", signed: await this.snapshot(meterId, member.leaf, requestId) };
    });
  }

  /**
   * Seals a DR command for every member (wire/rekey.ts): the current group key, a fresh
   * invocation counter stored before the frame leaves, so no counter is ever used twice.
   */
  async sealCommand(command: Uint8Array, budget: number): Promise<RpcResult<{ apdu: Uint8Array; epoch: number; invocationCounter: number }>> {
    return this.serial(async () => {
      const program = this.meta("program");
      const height = Number(this.meta("height"));
      if (!program || !this.stored({ level: height, index: 0 })) throw new GridkeyError("invalid_state", "the program has no members, so no group key");
      const custody = await custodyFor(this.env);
      const root = await this.open(custody, program, { level: height, index: 0 });
      const invocationCounter = Number(this.meta("ic") ?? "0") + 1;
      if (invocationCounter > budget) throw new GridkeyError("invalid_state", "the group key's counter budget is used up: rotate the program's key");
      this.setMeta({ ic: invocationCounter });
      const apdu = await sealDrCommand(program, root.key, invocationCounter, command);
      root.key.fill(0);
      return { apdu, epoch: Number(this.meta("epoch")), invocationCounter };
    });
  }

  /**
   * For a region's tree: wraps a cover-keyed program's new key under the complete-subtree
   * cover of `meterIds` (functions/subset-cover.ts), so that exactly they can unwrap it.
   * Meters not yet in the tree join it first (one epoch, no multicast wrap). The key crosses
   * only this internal RPC, between two objects of the same worker.
   */
  async coverWrap(meterIds: string[], key: Uint8Array, requestId: string): Promise<RpcResult<{ degree: number; wraps: { level: number; index: number; version: number; wrapped: Uint8Array }[] }>> {
    return this.serial(async () => {
      if (!this.meta("program")) throw new GridkeyError("invalid_state", "the key graph is not initialised");
      const ids = [...new Set(meterIds)];
      let leaves = this.leavesOf(ids);
      if (leaves.length < ids.length) {
        const found = new Set(this.sql.exec<{ meter_id: string }>("SELECT m.meter_id FROM members m JOIN json_each(?) j ON j.value = m.meter_id", JSON.stringify(ids)).toArray().map((r) => r.meter_id));
        await this.applyEpoch(this.inOwnRegion(ids.filter((m) => !found.has(m))), [], requestId);
        leaves = this.leavesOf(ids);
      }
      const degree = Number(this.meta("degree"));
      const occupied = (lo: number, hi: number) => this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM members WHERE leaf BETWEEN ? AND ?", lo, hi).one().n;
      const custody = await custodyFor(this.env);
      const program = this.meta("program")!;
      const wraps = [];
      for (const n of completeSubtreeCover(leaves, degree, Number(this.meta("height")), occupied)) {
        const under = await this.open(custody, program, n);
        wraps.push({ ...ref(n, under.version), wrapped: await wrap(under.key, key) });
        under.key.fill(0);
      }
      return { degree, wraps };
    });
  }

  /** Erases every key of the graph (the program is deleted); the audit trail stays in D1. */
  async destroy(): Promise<RpcResult<void>> {
    return this.serial(async () => {
      this.transaction(() => {
        for (const t of ["nodes", "members", "free_leaves", "pending", "bundles", "epochs", "member_regions"]) this.sql.exec(`DELETE FROM ${t}`);
        this.setMeta({ member_count: 0 });
      });
    });
  }

  /**
   * A new group key without a membership change (its counter budget is nearly used, or the
   * region was compromised): the root is refreshed and wrapped under its children, d wraps.
   */
  async rotate(requestId: string): Promise<RpcResult<EpochResult>> {
    return this.serial(async () => {
      if (!this.stored({ level: Number(this.meta("height")), index: 0 })) throw new GridkeyError("invalid_state", "the program has no members, so no group key");
      return this.applyEpoch([], [], requestId, true);
    });
  }

  protected async applyEpoch(join: { id: string; region: string | null }[], leave: string[], requestId: string, refreshRoot = false, clearPending = false): Promise<EpochResult> {
    const custody = await custodyFor(this.env);
    const membersBefore = this.memberCount();
    const program = this.meta("program")!;
    const degree = Number(this.meta("degree"));
    const oldHeight = Number(this.meta("height"));
    const epoch = Number(this.meta("epoch")) + 1;
    const leaving = this.leavingMembers(leave);
    const leftLeaves = leave.map((m) => leaving.get(m)!.leaf);
    const { leaves: joinedLeaves, nextLeaf } = this.allocate(join.length, leftLeaves);
    const maxLeaf = Math.max(nextLeaf - 1, 0);
    const height = Math.max(oldHeight, heightFor(maxLeaf, degree));
    const nodes = this.epochNodes([...leftLeaves, ...joinedLeaves], degree, height);
    const left = { set: new Set(leftLeaves), sorted: [...leftLeaves].sort((a, b) => a - b) };
    const sortedJoined = [...joinedLeaves].sort((a, b) => a - b);
    // The plan asks about a node once per changed leaf below it: SQLite is asked once.
    const exists = (n: NodeId) => nodes.row(n) !== undefined;
    const occupied = this.occupancy(degree, (n) => this.occupiedAfter(n, degree, left, sortedJoined));
    const plan = planEpoch({ degree, oldHeight, newHeight: height, joined: joinedLeaves, left: leftLeaves }, exists, occupied);
    if (refreshRoot && !plan.refresh.some((n) => n.level === height && n.index === 0)) {
      plan.forward = plan.forward.filter((n) => !(n.level === height && n.index === 0));
      plan.refresh.push({ level: height, index: 0 });
    }

    const updated = new Map<string, NodeKey>();
    for (const leaf of joinedLeaves) updated.set(nodeKey({ level: 0, index: leaf }), { version: epoch, key: randomBytes(NODE_KEY_BYTES) });
    const entries: RekeyEntry[] = [];
    for (const n of plan.forward) {
      const old = await this.open(custody, program, n, nodes.row(n));
      const key = (await hmacSha256(old.key, forwardInfo(n.level, n.index, epoch))).slice(0, NODE_KEY_BYTES);
      updated.set(nodeKey(n), { version: epoch, key });
      entries.push({ kind: "forward", from: old.version, ...ref(n, epoch) });
    }
    const gone = new Set([...plan.emptied.map(nodeKey), ...leftLeaves.map((l) => nodeKey({ level: 0, index: l }))]);
    // Nodes with only new members below: those members get snapshots, so no wrap is sent under them.
    const onlyNew = new Set([
      ...joinedLeaves.map((l) => nodeKey({ level: 0, index: l })),
      ...plan.refresh.filter((n) => !exists(n) && !this.occupiedAfter(n, degree, left, [])).map(nodeKey),
    ]);
    for (const n of plan.refresh) {
      const key = randomBytes(NODE_KEY_BYTES);
      updated.set(nodeKey(n), { version: epoch, key });
      const under: { child: NodeId; key: NodeKey }[] = [];
      for (const { node: child, row } of this.childrenAfter(n, degree, nodes, updated, gone)) {
        if (!onlyNew.has(nodeKey(child))) under.push({ child, key: updated.get(nodeKey(child)) ?? (await this.open(custody, program, child, row)) });
      }
      const wrapped = await wrapUnderEach(under.map((u) => u.key.key), key);
      under.forEach((u, i) => entries.push({ kind: "wrap", node: ref(n, epoch), under: ref(u.child, u.key.version), wrapped: wrapped[i]! }));
    }
    const encoded = entries.map(encodeEntry);
    const header = encodeHeader({ program, epoch, height, degree, entries: encoded.length, root: merkleRoot(nobleSha256, encoded) });
    const signedHeader = await this.signed(header, requestId);
    const sealed = await Promise.all([...updated].map(async ([k, v]) => ({ k, v, s: await custody.seal(v.key, nodeAad(program, k, v.version)) })));

    const wraps = entries.filter((e) => e.kind === "wrap").length;
    const result: EpochResult = { epoch, joined: join.length, left: leave.length, wraps, forwards: entries.length - wraps, bundleBytes: signedHeader.length + encoded.reduce((n, e) => n + e.length, 0) };
    this.transaction(() => {
      // Rows of five values, twenty to a statement (SQLite in a Durable Object binds at most 100).
      for (let i = 0; i < sealed.length; i += 20) {
        const rows = sealed.slice(i, i + 20).map(({ k, v, s }) => [...k.split("/").map(Number), v.version, s.mkVersion, s.sealed]);
        this.sql.exec(`INSERT OR REPLACE INTO nodes (level, idx, version, mk, sealed) VALUES ${rows.map(() => "(?, ?, ?, ?, ?)").join(", ")}`, ...rows.flat());
      }
      for (const k of gone) {
        const [level, idx] = k.split("/").map(Number);
        this.sql.exec("DELETE FROM nodes WHERE level = ? AND idx = ?", level, idx);
      }
      leave.forEach((m, i) => {
        const { region } = leaving.get(m)!;
        if (region !== null) this.sql.exec("UPDATE member_regions SET n = n - 1 WHERE region = ?", region);
        this.sql.exec("DELETE FROM members WHERE meter_id = ?", m);
        this.sql.exec("INSERT OR IGNORE INTO free_leaves (leaf) VALUES (?)", leftLeaves[i]!);
      });
      join.forEach((m, i) => {
        this.sql.exec("DELETE FROM free_leaves WHERE leaf = ?", joinedLeaves[i]!);
        this.sql.exec("INSERT INTO members (meter_id, leaf, joined, region) VALUES (?, ?, ?, ?)", m.id, joinedLeaves[i]!, epoch, m.region);
        if (m.region !== null) this.sql.exec("INSERT INTO member_regions (region, n) VALUES (?, 1) ON CONFLICT (region) DO UPDATE SET n = n + 1", m.region);
      });
      this.sql.exec("DELETE FROM member_regions WHERE n <= 0");
      if (clearPending) this.sql.exec("DELETE FROM pending"); // a flush: its queue goes with its epoch, or neither
      // A new group key starts its invocation counter (ic) over.
      this.setMeta({ member_count: membersBefore + join.length - leave.length, epoch, ic: 0, height, next_leaf: nextLeaf });
      this.sql.exec("INSERT INTO bundles (epoch, header, entries) VALUES (?, ?, ?)", epoch, signedHeader, packEntries(encoded));
      this.sql.exec("DELETE FROM bundles WHERE epoch <= ?", epoch - BUNDLES_KEPT);
      this.recordEpoch(result);
    });
    for (const v of updated.values()) v.key.fill(0);
    await publishBundle(this.env, "tree", { program, epoch, degree, header: signedHeader, entries: packEntries(encoded) }, this.publishTargets());
    return result;
  }

  /**
   * The regions whose concentrators get each bundle, from this graph's own counts (no scan of
   * the members); undefined for a graph with members from before regions were kept, for
   * which the registry is asked.
   */
  private publishTargets(): string[] | undefined {
    if (this.sql.exec("SELECT 1 FROM members WHERE region IS NULL LIMIT 1").toArray().length > 0) return undefined;
    return this.sql.exec<{ region: string }>("SELECT region FROM member_regions WHERE n > 0 ORDER BY region").toArray().map((r) => r.region);
  }

  /** The leaves of those of `ids` that are members, sorted: one query, however many. */
  private leavesOf(ids: string[]): number[] {
    return this.sql
      .exec<{ leaf: number }>("SELECT m.leaf FROM members m JOIN json_each(?) j ON j.value = m.meter_id ORDER BY m.leaf", JSON.stringify(ids))
      .toArray()
      .map((r) => r.leaf);
  }

  /** A region's own tree: every member is of that region. */
  private inOwnRegion(ids: string[]): { id: string; region: string | null }[] {
    const name = this.meta("program") ?? "";
    const region = name.startsWith(REGION_GRAPH_PREFIX) ? name.slice(REGION_GRAPH_PREFIX.length) : null;
    return ids.map((id) => ({ id, region }));
  }

  private initialise(program: string, degree: number): void {
    this.transaction(() => {
      this.setMeta({ program, degree, epoch: 0, height: 1, next_leaf: 0 });
    });
  }

  /** The leaf and region of each leaving member: one query, however many. */
  private leavingMembers(ids: string[]): Map<string, { leaf: number; region: string | null }> {
    const rows = ids.length === 0 ? [] : this.sql.exec<{ meter_id: string; leaf: number; region: string | null }>("SELECT m.meter_id, m.leaf, m.region FROM json_each(?) j CROSS JOIN members m ON m.meter_id = j.value", JSON.stringify(ids)).toArray();
    const found = new Map(rows.map((r) => [r.meter_id, { leaf: r.leaf, region: r.region }]));
    const missing = ids.find((m) => !found.has(m));
    if (missing !== undefined) throw new GridkeyError("not_a_member", `meter ${missing} is not a member`);
    return found;
  }

  /**
   * The node rows an epoch reads, in one statement: the children of every ancestor of its
   * changed leaves (a refreshed node wraps under them; a forwarded one is among them) and the
   * root. A row outside those ranges (a new root's child) is asked of SQLite when needed.
   */
  private epochNodes(leaves: number[], degree: number, height: number): EpochNodes {
    const parents = new Set<string>();
    const ranges: [level: number, lo: number, hi: number][] = [[height, 0, 0]];
    for (const leaf of leaves) {
      for (const a of ancestors(leaf, degree, height)) {
        // Leaves share their upper ancestors: once one is seen, so are all above it.
        if (parents.has(nodeKey(a))) break;
        parents.add(nodeKey(a));
        ranges.push([a.level - 1, a.index * degree, a.index * degree + degree - 1]);
      }
    }
    const rows = new Map<string, StoredNode>();
    const found = this.sql.exec<StoredNode & { level: number; idx: number }>(
      "SELECT n.level, n.idx, n.version, n.mk, n.sealed FROM json_each(?) r CROSS JOIN nodes n ON n.level = r.value ->> 0 AND n.idx BETWEEN r.value ->> 1 AND r.value ->> 2",
      JSON.stringify(ranges),
    );
    for (const r of found) rows.set(nodeKey({ level: r.level, index: r.idx }), { version: r.version, mk: r.mk, sealed: r.sealed });
    const root = nodeKey({ level: height, index: 0 });
    const fetched = (n: NodeId) => nodeKey(n) === root || parents.has(nodeKey({ level: n.level + 1, index: Math.floor(n.index / degree) }));
    return {
      row: (n) => rows.get(nodeKey(n)) ?? (fetched(n) ? undefined : this.stored(n)),
      children: (n) => {
        if (!parents.has(nodeKey(n))) return this.storedChildren(n, degree);
        const out = new Map<number, StoredNode>();
        for (let i = n.index * degree; i < (n.index + 1) * degree; i++) {
          const row = rows.get(nodeKey({ level: n.level - 1, index: i }));
          if (row) out.set(i, row);
        }
        return out;
      },
    };
  }

  /** Free leaves first (lowest, but not ones freed in this same epoch), then new ones. */
  private allocate(count: number, freedNow: number[]): { leaves: number[]; nextLeaf: number } {
    const free = this.sql.exec<{ leaf: number }>("SELECT leaf FROM free_leaves ORDER BY leaf LIMIT ?", count + freedNow.length).toArray().map((r) => r.leaf);
    const freed = new Set(freedNow);
    const reuse = free.filter((l) => !freed.has(l)).slice(0, count);
    let nextLeaf = Number(this.meta("next_leaf"));
    const leaves = [...reuse];
    while (leaves.length < count) leaves.push(nextLeaf++);
    return { leaves, nextLeaf };
  }

  /**
   * Whether a member stays below `n` after the epoch. `joined` and `left.sorted` are sorted, so
   * binary searches count them in the node's leaf range; with k departures there, k + 1 member
   * rows settle it (at most k of them leave), so a batch never reads a subtree's every member.
   */
  private occupiedAfter(n: NodeId, degree: number, left: { set: Set<number>; sorted: number[] }, joined: number[]): boolean {
    const lo = n.index * degree ** n.level;
    const hi = lo + degree ** n.level - 1;
    const at = lowerBound(joined, lo);
    if (at < joined.length && joined[at]! <= hi) return true;
    const leaving = lowerBound(left.sorted, hi + 1) - lowerBound(left.sorted, lo);
    const rows = this.sql.exec<{ leaf: number }>("SELECT leaf FROM members WHERE leaf BETWEEN ? AND ? ORDER BY leaf LIMIT ?", lo, hi, leaving + 1).toArray();
    return rows.length > leaving || rows.some((r) => !left.set.has(r.leaf));
  }

  /**
   * `occupiedAfter`, asked once per node, and not at all above a node known occupied: the
   * plan asks bottom-up, so one query usually settles a departed leaf's whole path.
   */
  private occupancy(degree: number, ask: (n: NodeId) => boolean): (n: NodeId) => boolean {
    const answers = new Map<string, boolean>();
    const childOccupied = (n: NodeId) => Array.from({ length: degree }, (_, i) => nodeKey({ level: n.level - 1, index: n.index * degree + i })).some((k) => answers.get(k) === true);
    return (n) => {
      const k = nodeKey(n);
      if (!answers.has(k)) answers.set(k, (n.level > 0 && childOccupied(n)) || ask(n));
      return answers.get(k)!;
    };
  }

  /** The children a refreshed node will have, with their stored rows: stored ones not removed, plus ones made this epoch. */
  private childrenAfter(n: NodeId, degree: number, nodes: EpochNodes, updated: Map<string, NodeKey>, gone: Set<string>): { node: NodeId; row?: StoredNode }[] {
    const lo = n.index * degree;
    const stored = nodes.children(n);
    const fresh = Array.from({ length: degree }, (_, i) => lo + i).filter((i) => updated.has(nodeKey({ level: n.level - 1, index: i })));
    return [...new Set([...stored.keys(), ...fresh])]
      .sort((a, b) => a - b)
      .map((index) => ({ node: { level: n.level - 1, index }, row: stored.get(index) }))
      .filter((c) => !gone.has(nodeKey(c.node)));
  }

  /** The stored children of `n`, by index. */
  private storedChildren(n: NodeId, degree: number): Map<number, StoredNode> {
    const lo = n.index * degree;
    const rows = this.sql.exec<StoredNode & { idx: number }>("SELECT idx, version, mk, sealed FROM nodes WHERE level = ? AND idx BETWEEN ? AND ?", n.level - 1, lo, lo + degree - 1).toArray();
    return new Map(rows.map((r) => [r.idx, r]));
  }

  private stored(n: NodeId): StoredNode | undefined {
    return this.sql.exec<StoredNode>("SELECT version, mk, sealed FROM nodes WHERE level = ? AND idx = ?", n.level, n.index).toArray()[0];
  }

  /** `row`: the node's row when the caller has just read it. */
  private async open(custody: Custody, program: string, n: NodeId, row = this.stored(n)): Promise<NodeKey> {
    if (!row) throw new GridkeyError("internal", `key graph node ${nodeKey(n)} is missing`);
    return { version: row.version, key: await custody.open(row.mk, row.sealed, nodeAad(program, nodeKey(n), row.version)) };
  }

  private viewOf(bundle: { header: ArrayBuffer; entries: ArrayBuffer }, leaf: number): Uint8Array {
    return memberView(new Uint8Array(bundle.header), unpackEntries(new Uint8Array(bundle.entries)), onTreePath(leaf, Number(this.meta("degree"))));
  }

  private async snapshot(meterId: string, leaf: number, requestId: string): Promise<Uint8Array> {
    const custody = await custodyFor(this.env);
    const db = this.db();
    const program = this.meta("program")!;
    const degree = Number(this.meta("degree"));
    const height = Number(this.meta("height"));
    const kek = await openMeterKek(db, custody, meterId);
    const leafNode = { level: 0, index: leaf };
    const leafKey = await this.open(custody, program, leafNode);
    const path: { node: NodeRef; wrapped: Uint8Array }[] = [];
    for (const a of ancestors(leaf, degree, height)) {
      const k = await this.open(custody, program, a);
      path.push({ node: ref(a, k.version), wrapped: await wrap(leafKey.key, k.key) });
    }
    const body = encodeSnapshot({ program, epoch: Number(this.meta("epoch")), height, degree, leaf: ref(leafNode, leafKey.version), leafWrapped: await wrap(kek, leafKey.key), path });
    kek.fill(0);
    return this.signed(body, requestId);
  }

  private async signed(payload: Uint8Array, requestId: string): Promise<Uint8Array> {
    return signForMeters(this.env, await custodyFor(this.env), payload, requestId);
  }

  private db(): Db {
    return database(this.env.DB);
  }

  protected statusNow(): GraphStatus {
    return this.statusOf(Number(this.meta("degree") ?? 0), Number(this.meta("height") ?? 0));
  }
}

function nodeAad(program: string, node: string, version: number): Uint8Array {
  return utf8(`gridkey/graph/v1|${program}|${node}|${version}`);
}
