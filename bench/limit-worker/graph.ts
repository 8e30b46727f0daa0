/**
 * The rekey section's access to gridkey's real `KeyGraph` Durable Object (functions/key-graph.ts,
 * unchanged), bound in this bench-only worker with the bindings it uses: its own SQLite
 * storage, D1 with gridkey's schema (the central signing key, the registry), the master keys
 * and a real `Concentrator` (workers/concentrator.ts) that each epoch's bundle is pushed to.
 *
 *   POST /graph/setup {program, degree}     registers the program in D1 with one registered
 *        member (the observer meter, with a KEK, region bench-1, so the key graph's push
 *        reaches a concentrator as in production) and creates the graph; answers the observer's
 *        KEK (a bench fixture key) and the central signing key's public half (the meters' anchor)
 *   POST /graph/ops {program, ops: [{join, leave}], batched}   runs the changes one after the
 *        other, each one `change()` (one epoch), or with `batched` each one `change(…, true)` and
 *        `flush()` as a batched program does; answers every EpochResult. `join` is a list of
 *        meter ids or {prefix, from, count} (ids prefix+from … prefix+(from+count−1)).
 *   POST /graph/member {program, meter, held}   `memberUpdate()`: what that member is sent
 *        (nothing, a view or a signed snapshot), bytes in hex
 *   POST /graph/destroy {program}             erases the graph's keys (`destroy()`)
 *   POST /graph/parts {program, what, iterations}   two steps of every epoch, repeated, to say
 *        where a leave's time goes: `sign` (what KeyGraph.signed does: the central signing key
 *        as KeyGraph signs: `signForMeters`, the isolate's cached central key, an ES256 COSE_Sign1)
 *        and `push` (what publishing does: `cacheBundle` on the region's Concentrator, the
 *        regions coming from the graph's own counts, with a bundle of `bytes` bytes).
 *        And `probe`: nothing of gridkey's, a fixed pure-JS workload (SHA-256 of 64 bytes, 1,000
 *        times per iteration, noble): its CPU time says how fast this host is at that moment.
 *        `program` must be one used for nothing else.
 *
 * Timing is done by the caller, from outside (see bench/sections/rekey.ts).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { eq } from "drizzle-orm";
import { centralSigner } from "../../functions/central-signing";
import { signForMeters } from "../../functions/rekey-bundles";
import { randomBytes, toHex } from "../../functions/crypto";
import { custodyFor } from "../../functions/custody";
import { database } from "../../functions/db";
import type { CoverGraph } from "../../functions/cover-graph";
import type { KeyGraph } from "../../functions/key-graph";
import { coverVersusTree } from "./cover";
import { activeKeysOfOwner, openKey, sealNewKey } from "../../functions/key-store";
import { rpcValue } from "../../functions/rpc";
import { keys, meters, programMembers, programs } from "../../schema";
import type { Concentrator } from "../../workers/concentrator";

export type GraphEnv = {
  DB: D1Database;
  KEY_GRAPH: DurableObjectNamespace<KeyGraph>;
  COVER_GRAPH: DurableObjectNamespace<CoverGraph>;
  CONCENTRATOR: DurableObjectNamespace<Concentrator>;
  MASTER_KEYS: string;
  MASTER_KEY_CURRENT: string;
};

/** The one registered member of every bench graph: a real meter row with a KEK, so it can get snapshots. */
export const OBSERVER = "g0";
const REGION = "bench-1";

type Join = string[] | { prefix: string; from: number; count: number };
type Op = { join?: Join; leave?: string[] };

/** Every bench member is of region bench-1, where the observer's concentrator is. */
const inRegion = (ids: string[]) => ids.map((id) => ({ id, region: REGION }));
const ids = (j: Join | undefined): string[] => (j === undefined ? [] : Array.isArray(j) ? j : Array.from({ length: j.count }, (_, i) => `${j.prefix}${j.from + i}`));

export async function graphRoute(request: Request, env: GraphEnv, path: string): Promise<Response> {
  try {
    return await route(request, env, path);
  } catch (e) {
    return Response.json({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }, { status: 500 });
  }
}

async function route(request: Request, env: GraphEnv, path: string): Promise<Response> {
  const body = (await request.json()) as Record<string, unknown>;
  const program = String(body.program ?? "");
  if (!/^bench-[A-Za-z0-9_-]{1,48}$/.test(program)) return Response.json({ error: "program: bench-…" }, { status: 400 });
  if (path === "/graph/cover") {
    const densities = (body.densities as { label: string; fraction: number; layout: "contiguous" | "random" }[]) ?? [];
    return Response.json(await coverVersusTree(env, program, Number(body.n), Number(body.leaves) || 3, densities));
  }
  const graph = env.KEY_GRAPH.get(env.KEY_GRAPH.idFromName(program));
  const requestId = `bench-${toHex(randomBytes(6))}`;
  switch (path) {
    case "/graph/setup": {
      const degree = Number(body.degree);
      const kek = await observer(env, program, degree);
      const signer = await centralSigner(database(env.DB), await custodyFor(env), requestId);
      const status = await rpcValue(graph.init(program, degree));
      return Response.json({ status, observerKek: toHex(kek), anchor: { kid: toHex(signer.kid), publicKey: toHex(signer.publicKey) } });
    }
    case "/graph/ops": {
      const results = [];
      for (const op of (body.ops as Op[]) ?? []) {
        const [join, leave] = [ids(op.join), op.leave ?? []];
        if (body.batched === true) {
          await rpcValue(graph.change(inRegion(join), leave, true, requestId));
          results.push(await rpcValue(graph.flush(requestId)));
        } else {
          results.push((await rpcValue(graph.change(inRegion(join), leave, false, requestId))).epoch);
        }
      }
      return Response.json({ results });
    }
    case "/graph/member": {
      const update = await rpcValue(graph.memberUpdate(String(body.meter), Number(body.held), requestId));
      if (update.kind === "current") return Response.json({ kind: "current" });
      return Response.json({ kind: update.kind, bytes: toHex(update.kind === "view" ? update.view : update.signed) });
    }
    case "/graph/parts": {
      const iterations = Math.min(1000, Math.max(1, Number(body.iterations) || 1));
      if (body.what === "sign") {
        const payload = randomBytes(200);
        const custody = await custodyFor(env);
        for (let i = 0; i < iterations; i++) await signForMeters(env, custody, payload, requestId);
      } else if (body.what === "push") {
        const [header, entries] = [randomBytes(150), randomBytes(Math.max(0, Number(body.bytes) || 1000))];
        const stub = env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(REGION));
        // The key graph counts its members per region, so a push is the RPC to each region's concentrator.
        for (let i = 0; i < iterations; i++) await stub.cacheBundle(program, Date.now() * 1000 + i, 4, header, entries, "tree");
      } else if (body.what === "probe") {
        const block = new Uint8Array(64);
        for (let i = 0; i < iterations * 1000; i++) block.set(sha256(block).subarray(0, 32));
      } else return Response.json({ error: "what: sign, push or probe" }, { status: 400 });
      return Response.json({ what: body.what, iterations });
    }
    case "/graph/status":
      return Response.json({ status: await rpcValue(graph.status()) });
    case "/graph/destroy":
      await rpcValue(graph.destroy());
      return Response.json({ destroyed: program });
  }
  return new Response("not found", { status: 404 });
}

/**
 * The program's registry rows and the observer meter (active, region bench-1, a KEK sealed
 * under the master key as enrollment stores it); answers the observer's KEK.
 */
async function observer(env: GraphEnv, program: string, degree: number): Promise<Uint8Array> {
  const db = database(env.DB);
  const custody = await custodyFor(env);
  const now = Date.now();
  const [existing] = await db.select().from(meters).where(eq(meters.id, OBSERVER));
  if (!existing) {
    const point = `04${toHex(randomBytes(64))}`; // never used: the observer makes no handshake
    await db.insert(meters).values({ id: OBSERVER, kind: "meter", systemTitle: toHex(randomBytes(8)).toUpperCase(), region: REGION, suite: 1, identityCurve: "P-256", identityPublicKey: point, state: "active", createdAt: now, updatedAt: now });
    await db.insert(keys).values(await sealNewKey(custody, { ownerType: "meter", ownerId: OBSERVER, keyClass: "kek", algorithm: "AES-128", now }));
  }
  await db.insert(programs).values({ id: program, name: program, degree, rekeyMode: "immediate", state: "active", createdAt: now, createdBy: "bench" }).onConflictDoNothing();
  await db.insert(programMembers).values({ programId: program, meterId: OBSERVER, joinedAt: now, suspended: 0 }).onConflictDoNothing();
  const kek = (await activeKeysOfOwner(db, "meter", OBSERVER)).find((k) => k.keyClass === "kek");
  if (!kek) throw new Error("the observer has no KEK");
  return openKey(custody, kek);
}
