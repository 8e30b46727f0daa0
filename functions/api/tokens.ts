import { createRoute, z } from "@hono/zod-openapi";
import { ROLES } from "../../schema";
import { GridkeyError } from "../errors";
import { createToken, listTokens, revokeToken, tokenView } from "../operator-tokens";
import { services, dbOf } from "./context";
import { commonErrors, conflict, Name, newApp, notFound, requireRole, Timestamp } from "./http";

const Token = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    transportKeyId: z.string().nullable(),
    createdAt: Timestamp,
    createdBy: z.string(),
    expiresAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
  })
  .openapi("OperatorToken");

const CreateToken = z
  .object({
    name: Name,
    role: z.enum(ROLES),
    expiresInSeconds: z.number().int().min(60).max(10 * 365 * 86400).optional(),
    transportKeyId: z.string().max(64).optional().describe("headend tokens: the transport key exports are wrapped under"),
  })
  .strict()
  .openapi("CreateToken");

const TokenId = z.object({ id: z.string().max(64) });

export const tokenRoutes = newApp()
  .openapi(
    createRoute({
      method: "post",
      path: "/tokens",
      summary: "Create an operator token (shown once)",
      middleware: [requireRole("admin")] as const,
      request: { body: { content: { "application/json": { schema: CreateToken } }, required: true } },
      responses: {
        201: { content: { "application/json": { schema: z.object({ token: z.string(), tokenInfo: Token }) } }, description: "The token, shown this once" },
        ...commonErrors,
        ...notFound,
      },
    }),
    async (c) => {
      const { db, audit } = await services(c);
      const body = c.req.valid("json");
      const now = Date.now();
      const { row, token } = await createToken(db, { ...audit, now }, {
        name: body.name,
        role: body.role,
        expiresAt: body.expiresInSeconds ? now + body.expiresInSeconds * 1000 : undefined,
        transportKeyId: body.transportKeyId,
      });
      return c.json({ token, tokenInfo: tokenView(row) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/tokens",
      summary: "List operator tokens (never the tokens themselves)",
      middleware: [requireRole("admin")] as const,
      responses: { 200: { content: { "application/json": { schema: z.object({ tokens: z.array(Token) }) } }, description: "Tokens" }, ...commonErrors },
    }),
    async (c) => c.json({ tokens: (await listTokens(dbOf(c))).map(tokenView) }, 200),
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/tokens/{id}",
      summary: "Revoke an operator token",
      middleware: [requireRole("admin")] as const,
      request: { params: TokenId },
      responses: { 200: { content: { "application/json": { schema: Token } }, description: "The revoked token" }, ...commonErrors, ...notFound, ...conflict },
    }),
    async (c) => {
      const { db, audit, principal } = await services(c);
      const { id } = c.req.valid("param");
      if (id === principal.id) throw new GridkeyError("invalid_state", "a token cannot revoke itself");
      return c.json(tokenView(await revokeToken(db, audit, id)), 200);
    },
  );
