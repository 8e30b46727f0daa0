import { createRoute, z } from "@hono/zod-openapi";
import { DEVICE_KINDS, METER_STATES, POLICY_CLASSES } from "../../schema";
import { fleetCounts } from "../fleet";
import { DUE_SOON_SECONDS, keyAges } from "../key-ages";
import { iso } from "../time";
import { dbOf } from "./context";
import { commonErrors, newApp, requireRole, Timestamp } from "./http";

const READERS = ["admin", "operator", "auditor"] as const;

const FleetCount = z.object({ region: z.string(), kind: z.enum(DEVICE_KINDS), state: z.enum(METER_STATES), count: z.number().int() }).openapi("FleetCount");

const KeyAge = z
  .object({
    keyClass: z.enum(POLICY_CLASSES),
    region: z.string(),
    active: z.number().int().describe("active keys of this class in the region (of active meters, or the region's own broadcast key)"),
    oldestCreatedAt: Timestamp.nullable(),
    rotationSeconds: z.number().int().nullable().describe("the rotation period in force"),
    graceSeconds: z.number().int().nullable(),
    ok: z.number().int(),
    dueSoon: z.number().int().describe(`period ends within ${DUE_SOON_SECONDS} seconds`),
    due: z.number().int().describe("period over, grace not yet"),
    pastDue: z.number().int().describe("period and grace both over"),
    rotating: z.number().int().describe("a next version waits for the meter's acknowledgement"),
    counter: z.object({ highest: z.number().int(), budget: z.number().int() }).nullable().describe("unicast keys: highest invocation counter used under an active version, and the budget"),
  })
  .openapi("KeyAge");

const GroupBudget = z
  .object({ program: z.string(), name: z.string(), epoch: z.number().int(), invocations: z.number().int(), budget: z.number().int() })
  .openapi("GroupKeyBudget");

export const fleetRoutes = newApp()
  .openapi(
    createRoute({
      method: "get",
      path: "/fleet",
      summary: "Meters and gateways counted by region, kind and state",
      middleware: [requireRole(...READERS)] as const,
      responses: { 200: { content: { "application/json": { schema: z.object({ counts: z.array(FleetCount) }) } }, description: "Counts" }, ...commonErrors },
    }),
    async (c) => c.json({ counts: await fleetCounts(dbOf(c)) }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/key-ages",
      summary: "Key ages against the rotation policy in force, per region and class, and counter budgets used",
      middleware: [requireRole(...READERS)] as const,
      responses: {
        200: { content: { "application/json": { schema: z.object({ at: Timestamp, keys: z.array(KeyAge), groups: z.array(GroupBudget) }) } }, description: "Ages and budgets" },
        ...commonErrors,
      },
    }),
    async (c) => {
      const now = Date.now();
      const ages = await keyAges(dbOf(c), c.env, now);
      return c.json({ at: iso(now), keys: ages.keys.map((k) => ({ ...k, oldestCreatedAt: iso(k.oldestCreatedAt) })), groups: ages.groups }, 200);
    },
  );
