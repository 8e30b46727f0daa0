import { createRoute, z } from "@hono/zod-openapi";
import { KEY_ALGORITHMS, KEY_CLASSES, KEY_STATES, OWNER_TYPES } from "../../schema";
import { keyMetadata, keyVersions } from "../key-store";
import { dbOf } from "./context";
import { commonErrors, newApp, notFound, requireRole, Timestamp } from "./http";

export const KeyMetadataSchema = z
  .object({
    id: z.string(),
    version: z.number().int(),
    ownerType: z.enum(OWNER_TYPES),
    ownerId: z.string(),
    class: z.enum(KEY_CLASSES),
    state: z.enum(KEY_STATES),
    algorithm: z.enum(KEY_ALGORITHMS),
    origin: z.enum(["generated", "imported"]),
    masterKeyVersion: z.number().int(),
    createdAt: Timestamp,
    rotatedAt: Timestamp.nullable(),
    expiresAt: Timestamp.nullable(),
    destroyedAt: Timestamp.nullable(),
  })
  .openapi("KeyMetadata");

export const keyRoutes = newApp().openapi(
  createRoute({
    method: "get",
    path: "/keys/{id}",
    summary: "Every version of one key (metadata only)",
    middleware: [requireRole("admin", "operator", "auditor")] as const,
    request: { params: z.object({ id: z.string().max(64) }) },
    responses: { 200: { content: { "application/json": { schema: z.object({ versions: z.array(KeyMetadataSchema) }) } }, description: "Versions" }, ...commonErrors, ...notFound },
  }),
  async (c) => c.json({ versions: (await keyVersions(dbOf(c), c.req.valid("param").id)).map(keyMetadata) }, 200),
);
