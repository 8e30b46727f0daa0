import { createRoute, z } from "@hono/zod-openapi";
import { POLICY_CLASSES, POLICY_SCOPES } from "../../schema";
import { effectivePolicy, listPolicies, setPolicy } from "../policies";
import { iso } from "../time";
import { dbOf, services } from "./context";
import { commonErrors, newApp, requireRole } from "./http";

const Fields = {
  rotationSeconds: z.number().int().nullable().optional(),
  maxInvocations: z.number().int().nullable().optional(),
  rekeyMode: z.enum(["immediate", "batched"]).nullable().optional().describe("group keys: overrides the program's own mode"),
  batchWindowSeconds: z.number().int().nullable().optional(),
  graceSeconds: z.number().int().nullable().optional(),
  sessionLifetimeSeconds: z.number().int().nullable().optional(),
};

const Policy = z
  .object({
    scope: z.enum(POLICY_SCOPES),
    scopeId: z.string(),
    keyClass: z.enum(POLICY_CLASSES),
    rotationSeconds: z.number().int().nullable(),
    maxInvocations: z.number().int().nullable(),
    rekeyMode: z.enum(["immediate", "batched"]).nullable(),
    batchWindowSeconds: z.number().int().nullable(),
    graceSeconds: z.number().int().nullable(),
    sessionLifetimeSeconds: z.number().int().nullable(),
    updatedAt: z.string(),
    updatedBy: z.string(),
  })
  .openapi("Policy");

const view = (r: Omit<z.infer<typeof Policy>, "updatedAt"> & { updatedAt: number }) => ({ ...r, updatedAt: iso(r.updatedAt) });

export const policyRoutes = newApp()
  .openapi(
    createRoute({
      method: "get",
      path: "/policies",
      summary: "Refresh policies as set, and the one in force for a class (and region or program)",
      middleware: [requireRole("admin", "operator", "auditor")] as const,
      request: {
        query: z.object({ keyClass: z.enum(POLICY_CLASSES).optional(), region: z.string().max(64).optional(), program: z.string().max(64).optional() }),
      },
      responses: {
        200: {
          content: { "application/json": { schema: z.object({ policies: z.array(Policy), effective: z.object(Fields).nullable() }) } },
          description: "Policies",
        },
        ...commonErrors,
      },
    }),
    async (c) => {
      const db = dbOf(c);
      const q = c.req.valid("query");
      const effective = q.keyClass ? await effectivePolicy(db, q.keyClass, { region: q.region, program: q.program }) : null;
      return c.json({ policies: (await listPolicies(db)).map(view), effective }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/policies",
      summary: "Set a refresh policy (validated, audited; the next scheduled run applies it)",
      middleware: [requireRole("admin", "operator")] as const,
      request: {
        body: {
          content: {
            "application/json": {
              schema: z
                .object({ scope: z.enum(POLICY_SCOPES), scopeId: z.string().max(64).default(""), keyClass: z.enum(POLICY_CLASSES), ...Fields })
                .strict()
                .openapi("SetPolicy"),
            },
          },
          required: true,
        },
      },
      responses: { 200: { content: { "application/json": { schema: Policy } }, description: "The policy as stored" }, ...commonErrors },
    }),
    async (c) => {
      const { db, audit } = await services(c);
      const { scope, scopeId, keyClass, ...fields } = c.req.valid("json");
      return c.json(view(await setPolicy(db, audit, scope, scopeId, keyClass, fields)), 200);
    },
  );
