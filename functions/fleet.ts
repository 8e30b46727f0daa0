import { asc, count } from "drizzle-orm";
import { type DeviceKind, meters, type MeterState } from "../schema";
import type { Db } from "./db";

export type FleetCount = { region: string; kind: DeviceKind; state: MeterState; count: number };

/** How many meters and gateways each region has in each lifecycle state: one grouped query, no paging. */
export async function fleetCounts(db: Db): Promise<FleetCount[]> {
  return db
    .select({ region: meters.region, kind: meters.kind, state: meters.state, count: count() })
    .from(meters)
    .groupBy(meters.region, meters.kind, meters.state)
    .orderBy(asc(meters.region), asc(meters.kind), asc(meters.state));
}
