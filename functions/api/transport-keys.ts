import { createRoute, z } from "@hono/zod-openapi";
import { TRANSPORT_PURPOSES } from "../../schema";
import { fromHex } from "../crypto";
import { importTransportKey, listTransportKeys, transportKeyView } from "../transport-keys";
import { dbOf, services } from "./context";
import { commonErrors, conflict, hexBytes, Name, newApp, requireRole, Timestamp } from "./http";

const TransportKey = z
  .object({ id: z.string(), name: z.string(), purpose: z.enum(TRANSPORT_PURPOSES), keyId: z.string(), createdAt: Timestamp, createdBy: z.string() })
  .openapi("TransportKey");

const ImportTransportKey = z
  .object({
    name: Name,
    purpose: z.enum(TRANSPORT_PURPOSES).describe("manufacturer: unwraps keys imported at enrollment; headend: wraps exported keys"),
    key: hexBytes([16, 32]).describe("the AES key agreed with the other party, hex; stored sealed, never returned"),
  })
  .strict()
  .openapi("ImportTransportKey");

export const transportKeyRoutes = newApp()
  .openapi(
    createRoute({
      method: "post",
      path: "/transport-keys",
      summary: "Import a transport key shared with a manufacturer or head-end",
      middleware: [requireRole("admin")] as const,
      request: { body: { content: { "application/json": { schema: ImportTransportKey } }, required: true } },
      responses: { 201: { content: { "application/json": { schema: TransportKey } }, description: "Imported" }, ...commonErrors, ...conflict },
    }),
    async (c) => {
      const { db, custody, audit } = await services(c);
      const body = c.req.valid("json");
      const row = await importTransportKey(db, custody, audit, { name: body.name, purpose: body.purpose, material: fromHex(body.key) });
      return c.json(transportKeyView(row), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/transport-keys",
      summary: "List transport keys (metadata only)",
      middleware: [requireRole("admin", "operator", "auditor")] as const,
      responses: { 200: { content: { "application/json": { schema: z.object({ transportKeys: z.array(TransportKey) }) } }, description: "Transport keys" }, ...commonErrors },
    }),
    async (c) => c.json({ transportKeys: (await listTransportKeys(dbOf(c))).map(transportKeyView) }, 200),
  );
