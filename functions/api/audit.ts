import { createRoute, z } from "@hono/zod-openapi";
import { readAudit, verifyChain } from "../audit-log";
import { dbOf } from "./context";
import { commonErrors, newApp, requireRole, Timestamp } from "./http";
import { iso } from "../time";

const AuditRecord = z
  .object({
    seq: z.number().int(),
    at: Timestamp,
    actor: z.string(),
    role: z.string(),
    action: z.string(),
    targetType: z.string(),
    targetId: z.string(),
    requestId: z.string(),
    details: z.record(z.string(), z.unknown()),
    prevHash: z.string(),
    hash: z.string(),
  })
  .openapi("AuditRecord");

const READERS = ["admin", "auditor"] as const;

export const auditRoutes = newApp()
  .openapi(
    createRoute({
      method: "get",
      path: "/audit",
      summary: "Read the audit log in order, a page at a time",
      middleware: [requireRole(...READERS)] as const,
      request: {
        query: z.object({
          after: z.coerce.number().int().min(0).default(0).describe("the last seq already read"),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
      },
      responses: {
        200: { content: { "application/json": { schema: z.object({ records: z.array(AuditRecord), next: z.number().int().nullable() }) } }, description: "Records" },
        ...commonErrors,
      },
    }),
    async (c) => {
      const { after, limit } = c.req.valid("query");
      const rows = await readAudit(dbOf(c), after, limit);
      const records = rows.map((r) => ({ ...r, at: iso(r.at), details: JSON.parse(r.details) as Record<string, unknown> }));
      return c.json({ records, next: rows.length === limit ? rows[rows.length - 1]!.seq : null }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/audit/verify",
      summary: "Recompute the hash chain and report the first broken link",
      middleware: [requireRole(...READERS)] as const,
      responses: {
        200: {
          content: {
            "application/json": {
              schema: z.object({
                ok: z.boolean(),
                records: z.number().int().describe("records verified before the first break"),
                head: z.string().describe("hash of the last good record"),
                firstBroken: z.object({ seq: z.number().int(), reason: z.string() }).optional(),
              }),
            },
          },
          description: "Chain report",
        },
        ...commonErrors,
      },
    }),
    async (c) => c.json(await verifyChain(dbOf(c)), 200),
  );
