import { sql } from "drizzle-orm";
import type { KeyClass, PolicyClass } from "../schema";
import type { Db } from "./db";
import { listPolicies, MAX_INVOCATIONS, resolvePolicy } from "./policies";
import { listPrograms, programStatus } from "./programs";

/** A key counts as "due soon" this long before its rotation period ends. */
export const DUE_SOON_SECONDS = 7 * 86_400;

const CLASS_OF: Record<string, PolicyClass> = { guek: "unicast", ak: "authentication", kek: "kek", gbek: "broadcast" };

/**
 * Active keys of one class in one region, against the rotation policy in force there. The
 * buckets are disjoint: ok (more than DUE_SOON_SECONDS before its period ends), dueSoon,
 * due (period over: the scheduler starts a rotation at its next run, and the meter has the
 * grace period to take the new version), pastDue (period and grace both over: the rotation is
 * late). `rotating` counts keys whose next version waits for the meter's acknowledgement.
 * Meter keys count for active meters only, the ones the scheduler rotates.
 */
export type KeyAgeRow = {
  keyClass: PolicyClass;
  region: string;
  active: number;
  oldestCreatedAt: number | null;
  rotationSeconds: number | null;
  graceSeconds: number | null;
  ok: number;
  dueSoon: number;
  due: number;
  pastDue: number;
  rotating: number;
  /** Unicast keys only: the highest invocation counter a reading used under an active version. */
  counter: { highest: number; budget: number } | null;
};

export type GroupBudget = { program: string; name: string; epoch: number; invocations: number; budget: number };

type Thresholds = { due: number; soon: number; past: number };
type Aggregate = { region: string; class: KeyClass; active: number; oldest: number | null; past_due: number; due: number; due_soon: number };

/**
 * A fixed number of queries whatever the number of regions: policies are read once and
 * resolved in memory, and each region's thresholds reach SQL as one JSON parameter. Each call
 * reads every active key row once (plus the newest reading of each active GUEK, by index).
 */
export async function keyAges(db: Db, env: Env, now: number): Promise<{ keys: KeyAgeRow[]; groups: GroupBudget[] }> {
  const policyRows = await listPolicies(db);
  const regions = (await db.all<{ region: string }>(sql`SELECT DISTINCT region FROM meters WHERE state = 'active' UNION SELECT DISTINCT owner_id FROM keys WHERE class = 'gbek' AND state = 'active'`)).map((r) => r.region);
  const thresholds: Record<string, Thresholds> = {};
  for (const region of regions) {
    for (const [keyClass, policyClass] of Object.entries(CLASS_OF)) {
      const { rotationSeconds, graceSeconds } = resolvePolicy(policyRows, policyClass, { region });
      thresholds[`${region}/${keyClass}`] = thresholdsFor(now, rotationSeconds, graceSeconds ?? 0);
    }
  }
  const buckets = sql`
    count(*) AS active, min(k.created_at) AS oldest,
    coalesce(sum(k.created_at <= json_extract(t.value, '$.past')), 0) AS past_due,
    coalesce(sum(k.created_at <= json_extract(t.value, '$.due') AND k.created_at > json_extract(t.value, '$.past')), 0) AS due,
    coalesce(sum(k.created_at <= json_extract(t.value, '$.soon') AND k.created_at > json_extract(t.value, '$.due')), 0) AS due_soon`;
  const json = JSON.stringify(thresholds);
  const meterRows = await db.all<Aggregate>(sql`
    SELECT m.region AS region, k.class AS class, ${buckets}
    FROM keys k JOIN meters m ON m.id = k.owner_id AND m.state = 'active'
    JOIN json_each(${json}) t ON t.key = m.region || '/' || k.class
    WHERE k.owner_type = 'meter' AND k.class IN ('guek', 'ak', 'kek') AND k.state = 'active'
    GROUP BY m.region, k.class`);
  const regionRows = await db.all<Aggregate>(sql`
    SELECT k.owner_id AS region, k.class AS class, ${buckets}
    FROM keys k JOIN json_each(${json}) t ON t.key = k.owner_id || '/gbek'
    WHERE k.owner_type = 'region' AND k.class = 'gbek' AND k.state = 'active'
    GROUP BY k.owner_id`);
  const rotating = await countsBy(db, sql`
    SELECT coalesce(m.region, k.owner_id) || '/' || k.class AS key, count(*) AS n
    FROM keys k LEFT JOIN meters m ON k.owner_type = 'meter' AND m.id = k.owner_id
    WHERE k.state = 'new' AND k.class IN ('guek', 'ak', 'kek', 'gbek') AND (k.owner_type = 'region' OR m.state = 'active')
    GROUP BY 1`);
  const counters = await countsBy(db, sql`
    SELECT m.region AS key, max((SELECT max(r.invocation_counter) FROM readings r WHERE r.meter_id = k.owner_id AND r.key_id = k.id AND r.key_version = k.version)) AS n
    FROM keys k JOIN meters m ON m.id = k.owner_id AND m.state = 'active'
    WHERE k.owner_type = 'meter' AND k.class = 'guek' AND k.state = 'active'
    GROUP BY m.region`);
  const rows = [...meterRows, ...regionRows].map((a): KeyAgeRow => {
    const keyClass = CLASS_OF[a.class]!;
    const policy = resolvePolicy(policyRows, keyClass, { region: a.region });
    const [active, pastDue, due, dueSoon] = [a.active, a.past_due, a.due, a.due_soon].map(Number) as [number, number, number, number];
    return {
      keyClass,
      region: a.region,
      active,
      oldestCreatedAt: a.oldest === null ? null : Number(a.oldest),
      rotationSeconds: policy.rotationSeconds,
      graceSeconds: policy.graceSeconds,
      ok: active - pastDue - due - dueSoon,
      dueSoon,
      due,
      pastDue,
      rotating: rotating.get(`${a.region}/${a.class}`) ?? 0,
      counter: keyClass === "unicast" ? { highest: counters.get(a.region) ?? 0, budget: policy.maxInvocations ?? MAX_INVOCATIONS } : null,
    };
  });
  const order = Object.keys(CLASS_OF);
  rows.sort((x, y) => x.region.localeCompare(y.region) || order.indexOf(classKey(x.keyClass)) - order.indexOf(classKey(y.keyClass)));
  return { keys: rows, groups: await groupBudgets(db, env, policyRows) };
}

function classKey(policyClass: PolicyClass): string {
  return Object.keys(CLASS_OF).find((k) => CLASS_OF[k] === policyClass)!;
}

/** Thresholds on created_at: a key created at or before `due` has lived its whole rotation period. No period: never due. */
function thresholdsFor(now: number, rotationSeconds: number | null, graceSeconds: number): Thresholds {
  if (rotationSeconds === null) return { due: -1, soon: -1, past: -1 };
  const due = now - rotationSeconds * 1000;
  return { due, soon: due + DUE_SOON_SECONDS * 1000, past: due - graceSeconds * 1000 };
}

async function countsBy(db: Db, query: ReturnType<typeof sql>): Promise<Map<string, number>> {
  const rows = await db.all<{ key: string; n: number | null }>(query);
  return new Map(rows.map((r) => [r.key, Number(r.n ?? 0)]));
}

/** Each program's group key: DR commands sealed under it against its counter budget. */
async function groupBudgets(db: Db, env: Env, policyRows: Awaited<ReturnType<typeof listPolicies>>): Promise<GroupBudget[]> {
  return Promise.all(
    (await listPrograms(db)).map(async (p) => {
      const status = await programStatus(env, p);
      const budget = resolvePolicy(policyRows, "group", { program: p.id }).maxInvocations ?? MAX_INVOCATIONS;
      return { program: p.id, name: p.name, epoch: status.epoch, invocations: status.invocations, budget };
    }),
  );
}
