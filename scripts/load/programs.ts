/**
 * DR programs under load: one tree-keyed and one cover-keyed program over the whole fleet,
 * membership churned through the admin API while meters rekey. The sets here are what the
 * service was told (every change is applied at once: rekeyMode "immediate").
 */
import type { AdminApi } from "./admin.js";
import type { LoadMeter } from "./fleet.js";
import { pick } from "./pool.js";

export type Keying = "tree" | "cover";

export type DrProgram = {
  id: string;
  keying: Keying;
  /** Fleet indexes of the current members. */
  members: Set<number>;
  /** The same, as an array for picking at random (rebuilt after each change). */
  memberList: number[];
  /** Meters that left and are not members now: they must not open a later command. */
  departed: Set<number>;
};

/** The API takes 10,000 membership changes a call. */
const MEMBER_BATCH = 10_000;
/** Tree program: every 5th meter; cover program: every 7th (from the 4th), so some meters are in both. */
const INITIAL: Record<Keying, (i: number) => boolean> = { tree: (i) => i % 5 === 0, cover: (i) => i % 7 === 3 };

export async function createPrograms(api: AdminApi, fleet: LoadMeter[], runId: string): Promise<DrProgram[]> {
  const out: DrProgram[] = [];
  for (const keying of ["tree", "cover"] as const) {
    const created = await api.post("/programs", { name: `load-${runId}-${keying}`, keying, rekeyMode: "immediate" });
    const members = fleet.filter((m) => INITIAL[keying](m.index));
    for (let at = 0; at < members.length; at += MEMBER_BATCH) {
      await api.post(`/programs/${String(created.id)}/members`, { add: members.slice(at, at + MEMBER_BATCH).map((m) => m.id) });
    }
    const indexes = members.map((m) => m.index);
    out.push({ id: String(created.id), keying, members: new Set(indexes), memberList: indexes, departed: new Set() });
  }
  return out;
}

/**
 * One membership change: `size` meters leave and `size` others join. Leavers stop being
 * picked before the call goes out (a rekey already in flight may still meet not_a_member).
 * Resolves to the meters that joined.
 */
export async function churn(api: AdminApi, fleet: LoadMeter[], p: DrProgram, size: number): Promise<LoadMeter[]> {
  const leave = new Set<number>();
  while (leave.size < Math.min(size, p.members.size - 1)) leave.add(pick(p.memberList)!);
  const join = new Set<number>();
  for (let tries = 0; join.size < size && tries < size * 20; tries++) {
    const m = pick(fleet)!;
    if (!p.members.has(m.index) && !leave.has(m.index)) join.add(m.index);
  }
  for (const i of leave) p.members.delete(i);
  p.memberList = [...p.members];
  await api.post(`/programs/${p.id}/members`, { add: [...join].map((i) => fleet[i]!.id), remove: [...leave].map((i) => fleet[i]!.id) });
  for (const i of leave) p.departed.add(i);
  for (const i of join) {
    p.members.add(i);
    p.departed.delete(i);
  }
  p.memberList = [...p.members];
  return [...join].map((i) => fleet[i]!);
}
