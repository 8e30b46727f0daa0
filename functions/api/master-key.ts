import { createRoute, z } from "@hono/zod-openapi";
import { DEFAULT_REWRAP_CHUNK, rewrapChunk, rotationStatus } from "../master-key-rotation";
import { services } from "./context";
import { commonErrors, newApp, requireRole } from "./http";

const Status = z
  .object({
    current: z.number().int(),
    held: z.array(z.number().int()),
    byVersion: z.array(z.object({ version: z.number().int(), keys: z.number().int(), held: z.boolean() })),
    pending: z.number().int().describe("keys still sealed under an older version"),
    unreadable: z.number().int().describe("keys sealed under a version custody does not hold: must be 0"),
    complete: z.boolean(),
  })
  .openapi("MasterKeyStatus");

export const masterKeyRoutes = newApp()
  .openapi(
    createRoute({
      method: "get",
      path: "/master-key",
      summary: "Master-key versions and rotation progress",
      middleware: [requireRole("admin", "auditor")] as const,
      responses: { 200: { content: { "application/json": { schema: Status } }, description: "Status" }, ...commonErrors },
    }),
    async (c) => {
      const { db, custody } = await services(c);
      return c.json(await rotationStatus(db, custody, c.env), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/master-key/rewrap",
      summary: "Re-seal a chunk of stored keys under the current master-key version",
      middleware: [requireRole("admin")] as const,
      request: {
        body: {
          content: { "application/json": { schema: z.object({ limit: z.number().int().min(1).max(1000).default(DEFAULT_REWRAP_CHUNK) }).strict() } },
          required: false,
        },
      },
      responses: {
        200: { content: { "application/json": { schema: z.object({ rewrapped: z.number().int(), remaining: z.number().int() }) } }, description: "Progress" },
        ...commonErrors,
      },
    }),
    async (c) => {
      const { db, custody, audit } = await services(c);
      const body: { limit?: number } = c.req.valid("json") ?? {};
      return c.json(await rewrapChunk(db, custody, audit, body.limit ?? DEFAULT_REWRAP_CHUNK, c.env), 200);
    },
  );
