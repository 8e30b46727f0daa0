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
 *        read from D1 and unsealed, an ES256 COSE_Sign1) and `push` (what KeyGraph.publish does:
 *        the D1 query for the regions holding members, then `cacheBundle` on each region's
 *        Concentrator with a bundle of `bytes` bytes). `program` must be one used for nothing else.
 *
 * Timing is done by the caller, from outside (see bench/sections/rekey.ts).
 */
import { eq, sql } from "drizzle-orm";
import { centralSigner, signCwt } from "../../functions/central-signing";
import { randomBytes, toHex } from "../../functions/crypto";
import { custodyFor } from "../../functions/custody";
import { database } from "../../functions/db";
import type { KeyGraph } from "../../functions/key-graph";
import { activeKeysOfOwner, openKey, sealNewKey } from "../../functions/key-store";
import { rpcValue } from "../../functions/rpc";
import { keys, meters, programMembers, programs } from "../../schema";
import type { Concentrator } from "../../workers/concentrator";

export type GraphEnv = {
  DB: D1Database;
  KEY_GRAPH: DurableObjectNamespace<KeyGraph>;
  CONCENTRATOR: DurableObjectNamespace<Concentrator>;
  MASTER_KEYS: string;
  MASTER_KEY_CURRENT: string;
};

/** The one registered member of every bench graph: a real meter row with a KEK, so it can get snapshots. */
export const OBSERVER = "g0";
const REGION = "bench-1";

type Join = string[] | { prefix: string; from: number; count: number };
type Op = { join?: Join; leave?: string[] };

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
          await rpcValue(graph.change(join, leave, true, requestId));
          results.push(await rpcValue(graph.flush(requestId)));
        } else {
          results.push((await rpcValue(graph.change(join, leave, false, requestId))).epoch);
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
        for (let i = 0; i < iterations; i++) await signCwt(await centralSigner(database(env.DB), await custodyFor(env), requestId), payload);
      } else if (body.what === "push") {
        await observer(env, program, 4);
        const [header, entries] = [randomBytes(150), randomBytes(Math.max(0, Number(body.bytes) || 1000))];
        const db = database(env.DB);
        for (let i = 0; i < iterations; i++) {
          const rows = await db.all<{ region: string }>(sql`SELECT DISTINCT m.region AS region FROM program_members pm JOIN meters m ON m.id = pm.meter_id WHERE pm.program_id = ${program}`);
          await Promise.all(
            rows.map(({ region }) => {
              const stub = env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(region));
              // The bundle's keying ("tree") is the argument the concentrator takes once programs
              // can be cover-keyed; before that it ignores it.
              const args = [program, Date.now() * 1000 + i, 4, header, entries, "tree"] as unknown as Parameters<typeof stub.cacheBundle>;
              return stub.cacheBundle(...args);
            }),
          );
        }
      } else return Response.json({ error: "what: sign or push" }, { status: 400 });
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
