import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../functions/app-env";
import { centralSigner } from "../functions/central-signing";
import { toHex } from "../functions/crypto";
import { custodyFor } from "../functions/custody";
import { database } from "../functions/db";
import { GridkeyError, toGridkeyError } from "../functions/errors";
import { auditMalformedRequest } from "../functions/edge-refusals";
import { rpcValue } from "../functions/rpc";
import type { Context } from "hono";
import { EDHOC_REQUEST_MEDIA_TYPE } from "../edhoc/transport";
import { type EdgeReply, SESSION_MEDIA_TYPE } from "./concentrator";

import { credentialRoute, EDHOC_BODY_LIMIT, edhocRoute, REGION, SESSION_BODY_LIMIT, sessionRoute, subscribeRoute, trustAnchorRoute } from "./edge-routes";

/**
 * The edge for meters and gateways (DESIGN.md §2, docs/protocol.md §3): EDHOC at
 * /.well-known/edhoc as RFC 9528 Appendix A.2 lays it out, session requests, and the
 * public credentials a meter needs. `?region=` picks the region's concentrator.
 */
export const edge = new OpenAPIHono<AppEnv>();

edge.openapi(trustAnchorRoute, async (c) => {
  const signer = await centralSigner(database(c.env.DB), await custodyFor(c.env), c.get("requestId"));
  return c.json({ kid: toHex(signer.kid), alg: "ES256", publicKey: toHex(signer.publicKey) });
});

edge.openapi(credentialRoute, async (c) => {
  const region = regionOf(c.req.query("region"));
  const curve = c.req.query("curve") ?? "P-256";
  if (curve !== "P-256" && curve !== "P-384") throw new GridkeyError("bad_parameter", "curve is P-256 (EDHOC suite 2) or P-384 (suite 24)");
  const cwt = await rpcValue(concentrator(c.env, region).credentialCwt(region, curve, c.get("requestId")));
  return new Response(cwt.slice(), { headers: { "content-type": "application/cwt" } });
});

/** Rekey announcements for DR programs, pushed over a hibernatable WebSocket (docs/groups.md §4). */
edge.openapi(subscribeRoute, async (c) => {
  const region = regionOf(c.req.query("region"));
  return concentrator(c.env, region).fetch(c.req.raw);
});

edge.openapi(edhocRoute, async (c) => {
  const { region, body } = await admitted(c, EDHOC_REQUEST_MEDIA_TYPE, EDHOC_BODY_LIMIT);
  return reply(await concentrator(c.env, region).edhoc(region, body, c.get("requestId"), clientAddress(c)));
});

edge.openapi(sessionRoute, async (c) => {
  const { region, body } = await admitted(c, SESSION_MEDIA_TYPE, SESSION_BODY_LIMIT);
  return reply(await concentrator(c.env, region).session(region, body, c.get("requestId"), clientAddress(c)));
});

/** The region and the body, or a refusal that is audited (sampled per address) before it leaves. */
async function admitted(c: Context<AppEnv>, mediaType: string, limit: number): Promise<{ region: string; body: Uint8Array }> {
  const raw = c.req.query("region");
  try {
    const region = regionOf(raw);
    return { region, body: await binaryBody(c.req.raw, mediaType, limit) };
  } catch (err) {
    const region = raw && REGION.test(raw) ? raw : "(none)";
    await auditMalformedRequest(database(c.env.DB), c.get("requestId"), region, toGridkeyError(err).code, clientAddress(c));
    throw err;
  }
}

/** The client's address for the per-address rate limit: CF-Connecting-IP, which Cloudflare's edge sets; without it, one shared bucket. */
function clientAddress(c: Context<AppEnv>): string {
  return c.req.header("cf-connecting-ip") ?? "(none)";
}

export function concentrator(env: Env, region: string) {
  return env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(region));
}

function regionOf(region: string | undefined): string {
  if (!region || !REGION.test(region)) throw new GridkeyError("bad_parameter", "name the region: ?region=<region>");
  return region;
}

async function binaryBody(req: Request, mediaType: string, limit: number): Promise<Uint8Array> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== mediaType) throw new GridkeyError("unsupported_media_type", `send ${mediaType}`);
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw new GridkeyError("body_too_large", `the body is over ${limit} bytes`);
  const body = new Uint8Array(await req.arrayBuffer());
  if (body.length > limit) throw new GridkeyError("body_too_large", `the body is over ${limit} bytes`);
  if (body.length === 0) throw new GridkeyError("bad_frame", "the body is empty");
  return body;
}

function reply(r: EdgeReply): Response {
  const headers: Record<string, string> = { "content-type": r.contentType };
  if (r.errorCode) headers["gridkey-error"] = r.errorCode;
  if (r.retryAfter !== undefined) headers["retry-after"] = String(r.retryAfter);
  return new Response(r.status === 204 ? null : r.body.slice(), { status: r.status, headers });
}
