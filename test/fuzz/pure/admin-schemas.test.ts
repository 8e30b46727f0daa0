/**
 * The operator API's parsers without HTTP, so they can run 10^5 cases each: the zod schema
 * of every route's JSON body, path and query (taken from the app's own OpenAPI registry, so
 * a new route is fuzzed without being listed here), and bulk enrollment's CSV and NDJSON
 * reader. A schema answers success or a validation error, never an exception; the bulk
 * reader answers its lines or `bulk_invalid`, never anything else. The HTTP-level file
 * (test/fuzz/admin.test.ts) checks what the handlers do after these, at fewer cases.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { readBulkLines } from "../../../functions/bulk-enrollment";
import { type ErrorCode, GridkeyError } from "../../../functions/errors";
import { app } from "../../../workers/app";
import { budgetMs, check, jsonValue, params } from "../fuzz";

const PURE = 1000;

type Schema = z.ZodType & { shape?: Record<string, unknown> };
type RouteDefinition = { type: string; route?: { method: string; path: string; request?: { body?: { content?: Record<string, { schema?: Schema }> }; params?: Schema; query?: Schema } } };

/** Every schema a route validates its input with: [name, schema]. */
function routeSchemas(): [string, Schema][] {
  const out: [string, Schema][] = [];
  for (const d of app.openAPIRegistry.definitions as RouteDefinition[]) {
    if (d.type !== "route" || !d.route) continue;
    const { method, path, request } = d.route;
    const body = request?.body?.content?.["application/json"]?.schema;
    if (body) out.push([`${method.toUpperCase()} ${path} body`, body]);
    if (request?.params) out.push([`${method.toUpperCase()} ${path} params`, request.params]);
    if (request?.query) out.push([`${method.toUpperCase()} ${path} query`, request.query]);
  }
  return out;
}

/** Objects with the schema's own field names and any values (type confusion), or any JSON at all. */
function inputsFor(schema: Schema): fc.Arbitrary<unknown> {
  const keys = schema.shape ? Object.keys(schema.shape) : [];
  const fields = keys.length > 0 ? fc.dictionary(fc.constantFrom(...keys, "extra"), jsonValue, { maxKeys: keys.length + 1 }) : jsonValue;
  const strings = keys.length > 0 ? fc.dictionary(fc.constantFrom(...keys), fc.string({ maxLength: 80 }), { maxKeys: keys.length }) : fc.string();
  return fc.oneof(fields, strings, jsonValue);
}

describe("fuzz: the operator API's schemas and bulk reader, without HTTP", () => {
  const schemas = routeSchemas();

  it("finds the routes' schemas in the app's registry", () => {
    expect(schemas.length).toBeGreaterThan(20);
    expect(schemas.map(([n]) => n)).toContain("POST /v1/admin/meters body");
  });

  for (const [name, schema] of schemas) {
    it(`${name}: success or a validation error, never an exception`, { timeout: budgetMs(PURE, 1) }, async () => {
      await check(
        fc.property(inputsFor(schema), (input) => {
          const result = schema.safeParse(input);
          expect(typeof result.success).toBe("boolean");
        }),
        params(PURE),
      );
    });
  }

  const csvHeader = "id,systemTitle,region,suite,identityPublicKey,transportKeyId,kek,guek,ak";
  const csvField = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("", "MTR-1", "4D4D4D0000000001", "north-1", "1", "2", "04" + "ab".repeat(64), "tk_1", "00".repeat(24), '"', ",", "\r"));
  const csvBody = fc.oneof(
    fc.array(fc.array(csvField, { maxLength: 10 }).map((r) => r.join(",")), { maxLength: 6 }).map((rows) => [csvHeader, ...rows].join("\n")),
    fc.string({ maxLength: 400 }),
  );
  const ndjsonBody = fc.oneof(fc.array(jsonValue.map((v) => JSON.stringify(v) ?? "null"), { maxLength: 6 }).map((l) => l.join("\n")), fc.string({ maxLength: 400 }));

  for (const [format, body] of [["csv", csvBody], ["ndjson", ndjsonBody]] as const) {
    it(`readBulkLines (${format}): lines and line errors, or bulk_invalid, never anything else`, { timeout: budgetMs(PURE, 1) }, async () => {
      await check(
        fc.property(body, (text) => {
          try {
            const { inputs, errors } = readBulkLines(format, text);
            for (const e of [...inputs.map((i) => i.line), ...errors.map((e) => e.line)]) expect(Number.isSafeInteger(e) && e >= 1).toBe(true);
            for (const e of errors) expect(new GridkeyError(e.code as ErrorCode, "").status, e.code).toBeLessThan(500);
          } catch (e) {
            if (!(e instanceof GridkeyError && e.code === "bulk_invalid")) throw e;
          }
        }),
        params(PURE),
      );
    });
  }
});
