import { OpenAPIHono } from "@hono/zod-openapi";
import { adminApi } from "../functions/admin-api";
import type { AppEnv } from "../functions/app-env";
import { errorBody, GridkeyError, toGridkeyError } from "../functions/errors";
import { dashboard } from "./dashboard";
import { edge } from "./edge";

/**
 * The one fetch handler of the deployment: health, the OpenAPI document, the operator API
 * under /v1/admin, and the meters' edge (EDHOC and sessions, routed to concentrators). Every response carries a
 * request id, and every error leaves through `onError` as `{"error":{"code","message"}}`.
 */
export const app = new OpenAPIHono<AppEnv>();

app.use("*", async (c, next) => {
  c.set("requestId", crypto.randomUUID());
  await next();
  c.header("X-Request-Id", c.get("requestId"));
});

app.get("/health", (c) => c.json({ status: "ok", service: "gridkey" }));

app.route("/v1/admin", adminApi);
app.route("/dashboard", dashboard);
app.route("/", edge);

app.doc31("/v1/openapi.json", {
  openapi: "3.1.0",
  info: { title: "gridkey", version: "0.1.0", description: "Key management for smart-grid AMI" },
  security: [{ bearer: [] }],
});
app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });

app.notFound((c) => c.json(errorBody(new GridkeyError("not_found", "no such route")), 404));

app.onError((err, c) => {
  const e = toGridkeyError(err);
  if (e.code === "internal") console.error("internal error", c.get("requestId"), err);
  c.header("X-Request-Id", c.get("requestId"));
  return c.json(errorBody(e), e.status);
});
