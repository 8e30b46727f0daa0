import { createRoute, z } from "@hono/zod-openapi";
import { compromiseRegion } from "../region-compromise";
import { services } from "./context";
import { commonErrors, newApp, Region, requireRole } from "./http";

export const regionRoutes = newApp().openapi(
  createRoute({
    method: "post",
    path: "/regions/{region}/compromise",
    summary: "A region's concentrator is presumed compromised: drop its sessions and caches, replace its credentials and broadcast keys, rekey its programs",
    middleware: [requireRole("admin")] as const,
    request: { params: z.object({ region: Region }) },
    responses: {
      200: {
        content: {
          "application/json": {
            schema: z.object({ sessionsDropped: z.number().int(), keysReplaced: z.array(z.string()), programsRekeyed: z.array(z.string()) }).openapi("CompromiseReport"),
          },
        },
        description: "What was done",
      },
      ...commonErrors,
    },
  }),
  async (c) => {
    const { db, custody, audit } = await services(c);
    return c.json(await compromiseRegion(db, c.env, custody, audit, c.req.valid("param").region), 200);
  },
);
