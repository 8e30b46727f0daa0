// Requests the edge refuses before any concentrator sees them (no region, wrong media type,
// too large) are audited, but a flood of them must not become a flood of audit records:
// one record per client address, code and minute, naming how many went unrecorded.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const EDHOC_TYPE = "application/cid-edhoc+cbor-seq";

function edhoc(address: string, contentType: string, query = "?region=north-1", body = Uint8Array.of(0xf5)): Promise<Response> {
  return exports.default.fetch(`http://gridkey.test/.well-known/edhoc${query}`, { method: "POST", body, headers: { "content-type": contentType, "cf-connecting-ip": address } });
}

type Refusal = { code: string; region: string; address: string; unrecorded: number };

async function refusalsFrom(address: string): Promise<Refusal[]> {
  const rows = await env.DB.prepare("SELECT details FROM audit_log WHERE action = 'edge.refused' ORDER BY seq").all<{ details: string }>();
  return rows.results.map((r) => JSON.parse(r.details) as Refusal).filter((d) => d.address === address);
}

describe("refusals at the edge, before any concentrator", () => {
  it("records the first of a flood from one address per code, and still refuses every request", async () => {
    for (let i = 0; i < 40; i++) {
      const res = await edhoc("198.51.100.7", "application/json");
      expect([res.status, (await res.json<{ error: { code: string } }>()).error.code]).toEqual([415, "unsupported_media_type"]);
    }
    for (let i = 0; i < 5; i++) expect((await edhoc("198.51.100.7", EDHOC_TYPE, "")).status).toBe(400);
    expect((await edhoc("198.51.100.7", EDHOC_TYPE, "?region=north-1", new Uint8Array(5000))).status).toBe(413);

    const records = await refusalsFrom("198.51.100.7");
    expect(records.map((r) => [r.code, r.region, r.unrecorded]).sort()).toEqual([
      ["bad_parameter", "(none)", 0],
      ["body_too_large", "north-1", 0],
      ["unsupported_media_type", "north-1", 0],
    ]);
  });

  it("keeps each address apart: a neighbour's first refusal is recorded during another's flood", async () => {
    for (let i = 0; i < 10; i++) await edhoc("203.0.113.1", "text/plain");
    await edhoc("203.0.113.2", "text/plain");
    expect((await refusalsFrom("203.0.113.1")).map((r) => r.code)).toEqual(["unsupported_media_type"]);
    expect((await refusalsFrom("203.0.113.2")).map((r) => r.code)).toEqual(["unsupported_media_type"]);
  });
});
