import { createRoute, z } from "@hono/zod-openapi";
import { ROLES } from "../../schema";
import { commonErrors, newApp, requireRole } from "./http";

/** Who the bearer token is: clients (the dashboard) show only what the role may do. */
export const whoamiRoutes = newApp().openapi(
  createRoute({
    method: "get",
    path: "/whoami",
    summary: "The calling token's id and role",
    middleware: [requireRole(...ROLES)] as const,
    responses: {
      200: { content: { "application/json": { schema: z.object({ id: z.string(), role: z.enum(ROLES) }).openapi("Principal") } }, description: "The caller" },
      ...commonErrors,
    },
  }),
  (c) => {
    const { id, role } = c.get("principal");
    return c.json({ id, role }, 200);
  },
);
