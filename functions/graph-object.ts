import { DurableObject } from "cloudflare:workers";
import type { GraphStatus } from "./key-graph";
import { type RpcResult, rpcResult } from "./rpc";

/**
 * What both kinds of key graph Durable Object share (key-graph.ts, cover-graph.ts): a `meta`
 * table of settings, a `members` and a `pending` table, and operations run one at a time.
 */
export abstract class GraphObject extends DurableObject<Env> {
  protected readonly sql = this.ctx.storage.sql;
  private queue: Promise<unknown> = Promise.resolve();

  protected statusOf(degree: number, height: number): GraphStatus {
    const count = (t: string) => this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`).one().n;
    return {
      program: this.meta("program") ?? "",
      degree,
      epoch: Number(this.meta("epoch") ?? 0),
      height,
      members: count("members"),
      pending: count("pending"),
      oldestPending: this.sql.exec<{ at: number | null }>("SELECT MIN(at) AS at FROM pending").one().at,
    };
  }

  protected meta(k: string): string | undefined {
    return this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", k).toArray()[0]?.v;
  }

  protected setMeta(k: string, v: string): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", k, v);
  }

  /** One operation at a time (an epoch's crypto is async, its writes one transaction); refusals travel back as values (rpc.ts). */
  protected serial<T>(op: () => Promise<T>): Promise<RpcResult<T>> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return rpcResult(() => run);
  }
}
