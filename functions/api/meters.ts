import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { DEVICE_KINDS, METER_STATES } from "../../schema";
import { enrollBulk, MAX_BULK_METERS } from "../bulk-enrollment";
import { commitEnrollment, EnrollmentInput, findCollisions, GatewayInput, type PreparedMeter, prepareGateway, prepareMeter } from "../enrollment";
import { GridkeyError } from "../errors";
import { exportMeterKeys } from "../headend-export";
import { rotateMeterKey } from "../key-delivery";
import { enforceMeterState } from "../revocation";
import { keyMetadata, keysOfOwner } from "../key-store";
import { getMeter, listMeters, meterView, type MeterTransition, transitionMeter } from "../meter-registry";
import { dbOf, services } from "./context";
import { commonErrors, conflict, errorResponse, MeterId, newApp, notFound, Region, requireRole, Timestamp } from "./http";
import { KeyMetadataSchema } from "./keys";

const Meter = z
  .object({
    id: z.string(),
    kind: z.enum(DEVICE_KINDS),
    systemTitle: z.string(),
    region: z.string(),
    suite: z.number().int(),
    identityCurve: z.enum(["P-256", "P-384"]),
    identityPublicKey: z.string().describe("uncompressed SEC1, hex"),
    state: z.enum(METER_STATES),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Meter");

const IdParam = z.object({ id: MeterId });
const MeterList = z.object({ meters: z.array(Meter), next: z.string().nullable().describe("cursor of the next page, if any") }).openapi("MeterList");
const ListQuery = z.object({
  region: Region.optional(),
  state: z.enum(METER_STATES).optional(),
  suite: z.enum(["0", "1", "2"]).optional(),
  kind: z.enum(DEVICE_KINDS).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: MeterId.optional().describe("the `next` of the previous page"),
});
const TransitionBody = z.object({ reason: z.string().max(500).optional() }).strict();

const READERS = ["admin", "operator", "auditor"] as const;

/** NDJSON and CSV bodies are UTF-8; anything else is refused rather than half-read. */
function utf8Body(body: ArrayBuffer): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    throw new GridkeyError("malformed_body", "the body is not UTF-8 text");
  }
}

async function enrollOne(c: Context<AppEnv>, prepared: PreparedMeter) {
  const { db, audit } = await services(c);
  const collision = (await findCollisions(db, [prepared])).get(0);
  if (collision) throw new GridkeyError(collision.code as "duplicate_meter", collision.message);
  await commitEnrollment(db, c.env, audit, [prepared]);
  return prepared.meter;
}
const WRITERS = ["admin", "operator"] as const;

function transitionRoute(op: MeterTransition, summary: string) {
  return createRoute({
    method: "post",
    path: `/meters/{id}/${op}`,
    summary,
    middleware: [requireRole(...WRITERS)] as const,
    request: { params: IdParam, body: { content: { "application/json": { schema: TransitionBody } }, required: false } },
    responses: { 200: { content: { "application/json": { schema: Meter } }, description: "The meter after the change" }, ...commonErrors, ...notFound, ...conflict },
  });
}

const app = newApp()
  .openapi(
    createRoute({
      method: "post",
      path: "/meters",
      summary: "Enroll one meter; creates (or imports) its KEK, GUEK and AK",
      middleware: [requireRole(...WRITERS)] as const,
      request: { body: { content: { "application/json": { schema: EnrollmentInput } }, required: true } },
      responses: {
        201: { content: { "application/json": { schema: Meter } }, description: "Enrolled" },
        ...commonErrors,
        ...notFound,
        ...conflict,
        422: errorResponse("A manufacturer key failed its integrity check"),
      },
    }),
    async (c) => {
      const { db, custody, audit } = await services(c);
      const prepared = await prepareMeter(db, custody, c.req.valid("json"), Date.now());
      return c.json(meterView(await enrollOne(c, prepared)), 201);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/gateways",
      summary: "Enroll a gateway: its own identity and sessions, no meter keys",
      middleware: [requireRole(...WRITERS)] as const,
      request: { body: { content: { "application/json": { schema: GatewayInput } }, required: true } },
      responses: { 201: { content: { "application/json": { schema: Meter } }, description: "Enrolled" }, ...commonErrors, ...conflict },
    }),
    async (c) => c.json(meterView(await enrollOne(c, prepareGateway(c.req.valid("json"), Date.now()))), 201),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/meters/bulk",
      summary: `Enroll up to ${MAX_BULK_METERS} meters from NDJSON or CSV, all or nothing`,
      middleware: [requireRole(...WRITERS)] as const,
      request: {
        body: {
          content: {
            "application/x-ndjson": { schema: z.string().describe("one EnrollmentInput JSON object per line") },
            "text/csv": { schema: z.string().describe("header row, then id,systemTitle,region,suite,identityPublicKey[,transportKeyId,kek,guek,ak]") },
          },
          required: true,
        },
      },
      responses: {
        201: { content: { "application/json": { schema: z.object({ enrolled: z.number().int() }) } }, description: "Every meter enrolled" },
        ...commonErrors,
        415: errorResponse("Neither NDJSON nor CSV"),
        422: errorResponse("Some lines are bad: nothing was enrolled; details.errors names each line"),
      },
    }),
    async (c) => {
      const { db, custody, audit } = await services(c);
      const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
      const format = type === "text/csv" ? "csv" : type === "application/x-ndjson" ? "ndjson" : undefined;
      if (!format) throw new GridkeyError("unsupported_media_type", "send application/x-ndjson or text/csv");
      return c.json(await enrollBulk(db, c.env, custody, audit, format, utf8Body(await c.req.arrayBuffer())), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/meters",
      summary: "List meters, filtered and paged",
      middleware: [requireRole(...READERS)] as const,
      request: { query: ListQuery },
      responses: { 200: { content: { "application/json": { schema: MeterList } }, description: "A page of meters" }, ...commonErrors },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const filter = { region: q.region, state: q.state, kind: q.kind, suite: q.suite === undefined ? undefined : Number(q.suite), after: q.cursor, limit: q.limit };
      const page = await listMeters(dbOf(c), filter);
      return c.json({ meters: page.meters.map(meterView), next: page.next }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/meters/{id}",
      summary: "One meter",
      middleware: [requireRole(...READERS)] as const,
      request: { params: IdParam },
      responses: { 200: { content: { "application/json": { schema: Meter } }, description: "The meter" }, ...commonErrors, ...notFound },
    }),
    async (c) => c.json(meterView(await getMeter(dbOf(c), c.req.valid("param").id)), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/meters/{id}/keys",
      summary: "Metadata of every key version the meter has (never material)",
      middleware: [requireRole(...READERS)] as const,
      request: { params: IdParam },
      responses: { 200: { content: { "application/json": { schema: z.object({ keys: z.array(KeyMetadataSchema) }) } }, description: "Key versions" }, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const db = dbOf(c);
      const meter = await getMeter(db, c.req.valid("param").id);
      return c.json({ keys: (await keysOfOwner(db, "meter", meter.id)).map(keyMetadata) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/meters/{id}/export",
      summary: "Head-end export: the meter's active keys wrapped (RFC 3394) under the caller's head-end transport key",
      middleware: [requireRole("headend")] as const,
      request: { params: IdParam },
      responses: {
        200: {
          content: {
            "application/json": {
              schema: z
                .object({
                  meterId: z.string(),
                  systemTitle: z.string(),
                  transportKeyId: z.string(),
                  keys: z.array(
                    z.object({
                      class: z.string(),
                      dlmsKeyId: z.number().int().nullable().describe("DLMS global key transfer key_id: 0 GUEK, 2 AK, 3 KEK"),
                      keyId: z.string(),
                      version: z.number().int(),
                      algorithm: z.string(),
                      wrapped: z.string().describe("RFC 3394 wrap under the transport key, hex"),
                    }),
                  ),
                })
                .openapi("HeadendExport"),
            },
          },
          description: "Wrapped keys",
        },
        ...commonErrors,
        ...notFound,
        ...conflict,
      },
    }),
    async (c) => {
      const { db, custody, audit, principal } = await services(c);
      return c.json(await exportMeterKeys(db, custody, audit, principal, c.req.valid("param").id), 200);
    },
  );

const transitions: Array<[MeterTransition, string]> = [
  ["suspend", "Suspend a meter (reversible)"],
  ["resume", "Resume a suspended meter"],
  ["revoke", "Revoke a meter for good: its sessions end, its keys are destroyed, it leaves every DR program"],
];

for (const [op, summary] of transitions) {
  app.openapi(transitionRoute(op, summary), async (c) => {
    const { db, audit } = await services(c);
    const body: { reason?: string } = c.req.valid("json") ?? {};
    const meter = await transitionMeter(db, audit, c.req.valid("param").id, op, body.reason);
    await enforceMeterState(db, c.env, audit, meter);
    return c.json(meterView(meter), 200);
  });
}

app.openapi(
  createRoute({
    method: "post",
    path: "/meters/{id}/keys/{class}/rotate",
    summary: "Start a two-phase change of a meter key: the new version waits for the meter's acknowledgement",
    middleware: [requireRole(...WRITERS)] as const,
    request: { params: z.object({ id: MeterId, class: z.enum(["kek", "guek", "ak"]) }) },
    responses: { 201: { content: { "application/json": { schema: KeyMetadataSchema } }, description: "The new version, state new" }, ...commonErrors, ...notFound, ...conflict },
  }),
  async (c) => {
    const { db, custody, audit } = await services(c);
    const { id, class: keyClass } = c.req.valid("param");
    return c.json(keyMetadata(await rotateMeterKey(db, custody, audit, await getMeter(db, id), keyClass)), 201);
  },
);

export const meterRoutes = app;
