import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { auditRoutes } from "./api/audit";
import { fleetRoutes } from "./api/fleet";
import { newApp } from "./api/http";
import { keyRoutes } from "./api/keys";
import { masterKeyRoutes } from "./api/master-key";
import { meterRoutes } from "./api/meters";
import { policyRoutes } from "./api/policies";
import { programRoutes } from "./api/programs";
import { regionRoutes } from "./api/regions";
import { tokenRoutes } from "./api/tokens";
import { transportKeyRoutes } from "./api/transport-keys";
import { whoamiRoutes } from "./api/whoami";
import type { AppEnv } from "./app-env";
import { database } from "./db";
import { GridkeyError } from "./errors";
import { authenticate } from "./operator-tokens";

export const JSON_BODY_LIMIT = 64 * 1024;
export const BULK_BODY_LIMIT = 16 * 1024 * 1024;
/** 10,000 meter ids to add and as many to remove, with room to spare. */
export const MEMBERSHIP_BODY_LIMIT = 2 * 1024 * 1024;

const isBulk = (path: string) => path.endsWith("/meters/bulk");
const limitFor = (path: string) => (isBulk(path) ? BULK_BODY_LIMIT : /\/programs\/[^/]+\/members$/.test(path) ? MEMBERSHIP_BODY_LIMIT : JSON_BODY_LIMIT);

/** Bodies are bounded before anything reads them; bulk calls get larger bounds. */
const limitBody: MiddlewareHandler<AppEnv> = (c, next) =>
  bodyLimit({
    maxSize: limitFor(c.req.path),
    onError: () => {
      throw new GridkeyError("body_too_large", `the body is over ${limitFor(c.req.path)} bytes`);
    },
  })(c, next);

/** Every admin body but bulk enrollment is JSON; anything else is refused before validation. */
const requireJson: MiddlewareHandler<AppEnv> = async (c, next) => {
  const hasBody = c.req.header("content-length") !== undefined && c.req.header("content-length") !== "0";
  const type = c.req.header("content-type");
  if ((hasBody || type) && !isBulk(c.req.path) && !/^application\/json\s*(;|$)/i.test(type ?? "")) {
    throw new GridkeyError("unsupported_media_type", "send application/json");
  }
  await next();
};

const requireToken: MiddlewareHandler<AppEnv> = async (c, next) => {
  const match = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(c.req.header("authorization") ?? "");
  if (!match) throw new GridkeyError("unauthorized", "send Authorization: Bearer <token>");
  c.set("principal", await authenticate(database(c.env.DB), c.env, match[1]!));
  await next();
};

/** The operator API (DESIGN.md §6), mounted at /v1/admin. */
export const adminApi = newApp();
adminApi.use("*", requireToken, limitBody, requireJson);
adminApi.route("/", tokenRoutes);
adminApi.route("/", transportKeyRoutes);
adminApi.route("/", meterRoutes);
adminApi.route("/", keyRoutes);
adminApi.route("/", programRoutes);
adminApi.route("/", policyRoutes);
adminApi.route("/", regionRoutes);
adminApi.route("/", auditRoutes);
adminApi.route("/", masterKeyRoutes);
adminApi.route("/", whoamiRoutes);
adminApi.route("/", fleetRoutes);
