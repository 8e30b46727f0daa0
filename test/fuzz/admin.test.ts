/**
 * Fuzzing the operator API through the real worker: the JSON body of every admin route that
 * takes one (mutations of real bodies, type-confused values, malformed JSON), path and
 * query parameters, and bulk enrollment's CSV and NDJSON (mutations of real files, any
 * bytes). A refusal is a 4xx with the JSON error shape and a documented code, never a 5xx,
 * and changes nothing stored: no row in any table, no audit record. Bulk enrollment is all
 * or nothing: a refused file enrolls no meter.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { type ErrorCode, GridkeyError } from "../../functions/errors";
import { call, unique } from "../helpers/http";
import { meterInput, publicKey, systemTitle } from "../helpers/meters";
import { createProgram } from "../helpers/groups";
import { budgetMs, bytes, check, jsonMutationOf, jsonValue, malformedJson, mutationOf, params } from "./fuzz";

const HTTP = 40;

function isDocumented4xx(code: unknown): boolean {
  if (typeof code !== "string") return false;
  const status = new GridkeyError(code as ErrorCode, "").status as number | undefined;
  return status !== undefined && status >= 400 && status < 500;
}

/** Row counts of every table, the audit log included: a refusal writes nothing. */
async function stored(): Promise<string> {
  const counts: Record<string, number> = {};
  for (const table of ["meters", "keys", "readings", "transport_keys", "operator_tokens", "programs", "program_members", "policies", "audit_log"]) {
    counts[table] = (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
  }
  return JSON.stringify(counts);
}

/** A refusal: documented 4xx, JSON error shape, nothing stored. Anything 2xx may change state (the mutation was valid). */
async function expectRefusedOrDone(res: { status: number; body: any }, before: string): Promise<void> {
  expect(res.status, `never a 5xx: ${JSON.stringify(res.body)}`).toBeLessThan(500);
  if (res.status < 300) return;
  expect(res.body?.error, `JSON error shape: ${JSON.stringify(res.body)}`).toMatchObject({ code: expect.any(String), message: expect.any(String) });
  expect(isDocumented4xx(res.body.error.code), `documented code: ${res.body.error.code}`).toBe(true);
  expect(await stored(), "a refusal changes nothing stored").toBe(before);
}

type Route = { method: string; path: string; body: () => Promise<Record<string, unknown>> };

describe("fuzz: admin JSON bodies", () => {
  let routes: Route[];
  beforeAll(async () => {
    const program = await createProgram(2);
    const meter = await meterInput({ region: "fuzz-admin" });
    expect((await call("POST", "/v1/admin/meters", { json: meter })).status).toBe(201);
    const tk = await call("POST", "/v1/admin/transport-keys", { json: { name: unique("mfr"), purpose: "manufacturer", key: "00".repeat(16) } });
    routes = [
      { method: "POST", path: "/v1/admin/tokens", body: async () => ({ name: unique("t"), role: "operator", expiresInSeconds: 3600 }) },
      { method: "POST", path: "/v1/admin/transport-keys", body: async () => ({ name: unique("tk"), purpose: "headend", key: "11".repeat(16) }) },
      { method: "POST", path: "/v1/admin/meters", body: async () => ({ ...(await meterInput({ region: "fuzz-admin" })), manufacturerKeys: { transportKeyId: tk.body.id, kek: "22".repeat(24) } }) },
      { method: "POST", path: "/v1/admin/gateways", body: async () => ({ id: unique("GW"), systemTitle: systemTitle(), region: "fuzz-admin", identityPublicKey: await publicKey() }) },
      { method: "POST", path: `/v1/admin/meters/${meter.id}/suspend`, body: async () => ({ reason: "fuzz" }) },
      { method: "PUT", path: "/v1/admin/policies", body: async () => ({ scope: "region", scopeId: "fuzz-admin", keyClass: "session", sessionLifetimeSeconds: 3600 }) },
      { method: "POST", path: "/v1/admin/programs", body: async () => ({ name: unique("dr"), degree: 4, rekeyMode: "batched" }) },
      { method: "POST", path: `/v1/admin/programs/${program}/members`, body: async () => ({ add: [meter.id], remove: [] }) },
      { method: "POST", path: `/v1/admin/programs/${program}/commands`, body: async () => ({ command: "c001c100" }) },
    ];
  });

  it("mutated real bodies, any JSON value, malformed JSON: done, or a documented 4xx that stores nothing", { timeout: budgetMs(HTTP, 1500) }, async () => {
    await check(
      fc.asyncProperty(fc.nat(1000), fc.nat(2), fc.integer({ min: 0, max: 2 ** 31 }), async (which, kind, seed) => {
        const route = routes[which % routes.length]!;
        const valid = await route.body();
        const before = await stored();
        const opts =
          kind === 0
            ? { json: fc.sample(jsonMutationOf(valid), { numRuns: 1, seed })[0] }
            : kind === 1
              ? { json: fc.sample(jsonValue, { numRuns: 1, seed })[0] }
              : { body: fc.sample(malformedJson(valid), { numRuns: 1, seed })[0], contentType: "application/json" };
        await expectRefusedOrDone(await call(route.method, route.path, opts), before);
      }),
      params(HTTP),
    );
  });

  it("bodies around the 64 KiB JSON limit and deeply nested JSON: 413 above the limit, a documented 4xx otherwise", { timeout: budgetMs(HTTP, 1500) }, async () => {
    await check(
      fc.asyncProperty(fc.integer({ min: -32, max: 100_000 }), fc.boolean(), async (delta, nested) => {
        const size = Math.max(2, 64 * 1024 + delta);
        const body = nested ? "[".repeat(size) : JSON.stringify({ name: "x".repeat(Math.max(0, size - 13)) });
        const before = await stored();
        const res = await call("POST", "/v1/admin/tokens", { body, contentType: "application/json" });
        await expectRefusedOrDone(res, before);
        if (new TextEncoder().encode(body).length > 64 * 1024) expect(res.body.error.code).toBe("body_too_large");
      }),
      params(HTTP),
    );
  });

  it("path and query parameters of any text: the resource, or a documented 4xx that stores nothing", { timeout: budgetMs(HTTP, 1500) }, async () => {
    const templates = [
      "GET /v1/admin/meters/{}",
      "GET /v1/admin/meters/{}/keys",
      "GET /v1/admin/keys/{}",
      "GET /v1/admin/programs/{}",
      "POST /v1/admin/meters/{}/resume",
      "POST /v1/admin/meters/{}/keys/{}/rotate",
      "DELETE /v1/admin/tokens/{}",
      "GET /v1/admin/meters?limit={}&cursor={}&region={}",
      "GET /v1/admin/audit?after={}&limit={}",
      "GET /v1/admin/policies?keyClass={}&region={}",
    ];
    const text = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom("", "0", "-1", "1e9", "99999999999999999999", "..", "%", "a".repeat(300), "MTR-1", "guek"));
    await check(
      fc.asyncProperty(fc.constantFrom(...templates), fc.array(text, { minLength: 3, maxLength: 3 }), async (template, values) => {
        const [method, path] = template.split(" ") as [string, string];
        let i = 0;
        const url = path.replace(/\{\}/g, () => encodeURIComponent(values[i++]!));
        const before = await stored();
        const res = await call(method, url);
        // A DELETE or a transition on a real object could succeed; fuzzed names never match one.
        await expectRefusedOrDone(res, before);
      }),
      params(HTTP),
    );
  });
});

describe("fuzz: bulk enrollment (CSV and NDJSON)", () => {
  async function files() {
    const rows = [await meterInput({ region: "fuzz-bulk" }), await meterInput({ region: "fuzz-bulk", suite: 2 })];
    const csv = ["id,systemTitle,region,suite,identityPublicKey", ...rows.map((r) => [r.id, r.systemTitle, r.region, r.suite, r.identityPublicKey].join(","))].join("\n");
    const ndjson = rows.map((r) => JSON.stringify(r)).join("\n");
    return { csv, ndjson };
  }

  it("mutated real files and any bytes: all enrolled (201), or a documented 4xx that enrolls none", { timeout: budgetMs(HTTP, 1500) }, async () => {
    await check(
      fc.asyncProperty(fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 2 ** 31 }), async (csv, noise, seed) => {
        const f = await files();
        const valid = new TextEncoder().encode(csv ? f.csv : f.ndjson);
        const [input] = fc.sample(noise ? bytes(400) : mutationOf(valid), { numRuns: 1, seed });
        const before = await stored();
        const meters = JSON.parse(before).meters as number;
        const res = await fetchBulk(input!, csv ? "text/csv" : "application/x-ndjson");
        if (res.status === 201) {
          expect(JSON.parse(await stored()).meters).toBe(meters + res.body.enrolled);
          return;
        }
        await expectRefusedOrDone(res, before);
      }),
      params(HTTP),
    );
  });

  it("regression: a file with one bad line enrolls none of its meters", async () => {
    const f = await files();
    const before = await stored();
    const res = await fetchBulk(new TextEncoder().encode(`${f.ndjson}\n{"id":`), "application/x-ndjson");
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("bulk_invalid");
    expect(await stored()).toBe(before);
  });
});

async function fetchBulk(body: Uint8Array, contentType: string): Promise<{ status: number; body: any }> {
  const { exports } = await import("cloudflare:workers");
  const res = await exports.default.fetch("http://gridkey.test/v1/admin/meters/bulk", {
    method: "POST",
    headers: { authorization: `Bearer ${env.BOOTSTRAP_TOKEN}`, "content-type": contentType },
    body,
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}
