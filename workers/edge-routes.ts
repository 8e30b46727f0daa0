import { createRoute, z } from "@hono/zod-openapi";
import { EDHOC_REQUEST_MEDIA_TYPE, EDHOC_RESPONSE_MEDIA_TYPE } from "../edhoc/transport";
import { ErrorSchema } from "../functions/api/http";
import { SESSION_MEDIA_TYPE } from "./concentrator";

/**
 * The OpenAPI declarations of the meters' edge (docs/protocol.md §3). The edge reads its
 * binary bodies and `?region=` itself, so that every refusal is audited with its own code
 * (docs/protocol.md §6); these declarations are built from the same constants it checks.
 */

/** EDHOC messages are tens of bytes; the first request riding on message_3 adds a little. */
export const EDHOC_BODY_LIMIT = 4 * 1024;
export const SESSION_BODY_LIMIT = 16 * 1024;
export const REGION = /^[a-z0-9][a-z0-9-]{0,31}$/;

const regionParameter = {
  name: "region",
  in: "query" as const,
  required: true,
  description: "the meter's region: picks the region's concentrator",
  schema: { type: "string" as const, pattern: REGION.source },
};

const binary = (description: string) => z.string().openapi({ format: "binary", description });
const jsonError = (description: string) => ({ content: { "application/json": { schema: ErrorSchema } }, description });

/** Refusals before a body reaches the concentrator, common to the two POST routes. */
const admissionErrors = {
  413: jsonError("body_too_large"),
  415: jsonError("unsupported_media_type"),
} as const;

/** Meters are not operators: no bearer token on the edge. */
const PUBLIC = { security: [], tags: ["edge"] };

export const edhocRoute = createRoute({
  method: "post",
  path: "/.well-known/edhoc",
  summary: "EDHOC (RFC 9528, Appendix A.2 over HTTPS): message_1 or message_3, the first session request riding on message_3",
  ...PUBLIC,
  parameters: [regionParameter],
  request: {
    body: {
      required: true,
      content: { [EDHOC_REQUEST_MEDIA_TYPE]: { schema: binary(`CBOR sequence: true, message_1 | C_R, message_3 [, counter, ciphertext]; at most ${EDHOC_BODY_LIMIT} bytes`) } },
    },
  },
  responses: {
    200: {
      description: "message_2, or the response record to the request that rode on message_3",
      content: {
        [EDHOC_RESPONSE_MEDIA_TYPE]: { schema: binary("message_2 (or an EDHOC error message, with gridkey-error)") },
        [SESSION_MEDIA_TYPE]: { schema: binary("the response record (docs/protocol.md §4)") },
      },
    },
    204: { description: "message_3 accepted; no request rode on it" },
    400: jsonError(
      "bad_parameter (no or bad ?region=), bad_frame (empty body); edhoc_failed, unsupported_suite, unknown_meter answer with an EDHOC error message (application/edhoc+cbor-seq), the code in the gridkey-error header",
    ),
    ...admissionErrors,
    403: jsonError("meter_suspended, meter_revoked, wrong_region (as an EDHOC error message, code in gridkey-error)"),
    404: jsonError("unknown_exchange: message_3 for no pending exchange"),
  },
});

export const sessionRoute = createRoute({
  method: "post",
  path: "/v1/edge/session",
  summary: "A session request record (AES-GCM, strictly increasing counter): keys, ack, reading, rekey, ping",
  ...PUBLIC,
  parameters: [regionParameter],
  request: {
    body: { required: true, content: { [SESSION_MEDIA_TYPE]: { schema: binary(`a request record (docs/protocol.md §4); at most ${SESSION_BODY_LIMIT} bytes`) } } },
  },
  responses: {
    200: { description: "The response record; refusals inside the session arrive encrypted as [1, code, message]", content: { [SESSION_MEDIA_TYPE]: { schema: binary("the response record") } } },
    400: jsonError("bad_parameter (no or bad ?region=), bad_frame (a record that does not parse), bad_mac (the request does not authenticate)"),
    ...admissionErrors,
    401: jsonError("unknown_session, session_expired"),
    403: jsonError("meter_suspended, meter_revoked"),
    409: jsonError("replayed_message: the counter is not above the last one"),
  },
});

export const credentialRoute = createRoute({
  method: "get",
  path: "/v1/edge/credential",
  summary: "The region concentrator's credential: a CWT signed by central",
  ...PUBLIC,
  parameters: [regionParameter, { name: "curve", in: "query", required: false, description: "P-256 (EDHOC suite 2, the default) or P-384 (suite 24)", schema: { type: "string", enum: ["P-256", "P-384"] } }],
  responses: {
    200: { description: "The CWT", content: { "application/cwt": { schema: binary("COSE_Sign1-wrapped CWT carrying the concentrator's CCS") } } },
    400: jsonError("bad_parameter: no or bad ?region=, or a curve other than P-256 or P-384"),
  },
});

export const trustAnchorRoute = createRoute({
  method: "get",
  path: "/v1/edge/trust-anchor",
  summary: "Central's public signing key, the trust anchor meters are provisioned with",
  ...PUBLIC,
  responses: {
    200: {
      description: "The current central signing key",
      content: {
        "application/json": {
          schema: z.object({ kid: z.string().describe("hex"), alg: z.literal("ES256"), publicKey: z.string().describe("uncompressed SEC1 P-256 point, hex") }).openapi("TrustAnchor"),
        },
      },
    },
  },
});

export const subscribeRoute = createRoute({
  method: "get",
  path: "/v1/edge/subscribe",
  summary: "WebSocket: announcements of new rekey epochs of DR programs (the keys come through the session's rekey op)",
  ...PUBLIC,
  parameters: [
    regionParameter,
    { name: "programs", in: "query", required: true, description: "1 to 10 program ids, comma-separated", schema: { type: "string" } },
    { name: "upgrade", in: "header", required: true, schema: { type: "string", const: "websocket" } },
  ],
  responses: {
    101: { description: "Switching protocols: the WebSocket is open" },
    400: jsonError("bad_parameter: no or bad ?region=, no WebSocket upgrade, or not 1 to 10 program ids"),
  },
});
