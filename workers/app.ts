import { OpenAPIHono } from "@hono/zod-openapi";
import { adminApi } from "../functions/admin-api";
import type { AppEnv } from "../functions/app-env";
import { errorBody, GridkeyError, toGridkeyError } from "../functions/errors";
import { dashboard } from "./dashboard";
import { edge } from "./edge";
import { healthRoute } from "./health";
import { mountReference } from "./reference";

/**
 * The one fetch handler of the deployment: health, the OpenAPI document and its reference page, the operator API
 * under /v1/admin, and the meters' edge (EDHOC and sessions, routed to concentrators). Every response carries a
 * request id, and every error leaves through `onError` as `{"error":{"code","message"}}`.
 */
export const app = new OpenAPIHono<AppEnv>();

app.use("*", async (c, next) => {
  c.set("requestId", crypto.randomUUID());
  await next();
  c.header("X-Request-Id", c.get("requestId"));
});

app.openapi(healthRoute, (c) => c.json({ status: "ok" as const, service: "gridkey" as const }, 200));

app.route("/v1/admin", adminApi);
app.route("/dashboard", dashboard);
app.route("/", edge);

mountReference(app);

app.notFound((c) => c.json(errorBody(new GridkeyError("not_found", "no such route")), 404));

app.onError((err, c) => {
  const e = toGridkeyError(err);
  if (e.code === "internal") console.error("internal error", c.get("requestId"), err);
  c.header("X-Request-Id", c.get("requestId"));
  return c.json(errorBody(e), e.status);
});
