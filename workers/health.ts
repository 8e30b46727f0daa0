import { createRoute, z } from "@hono/zod-openapi";

/** Liveness for load balancers and the operator: no token, no storage touched. */
export const healthRoute = createRoute({
  method: "get",
  path: "/health",
  summary: "Liveness: the worker answers",
  security: [],
  tags: ["service"],
  responses: { 200: { description: "Up", content: { "application/json": { schema: z.object({ status: z.literal("ok"), service: z.literal("gridkey") }).openapi("Health") } } } },
});
