// The read-only routes the operator dashboard needs beyond the rest of the API: who the token
// is, fleet counts, key ages against policy, and a program's rekey timeline.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { CborMap } from "../../edhoc/cbor";
import { toHex } from "../../functions/crypto";
import { createProgram, members } from "../helpers/groups";
import { call, tokenFor, unique } from "../helpers/http";
import { meterInput } from "../helpers/meters";
import { TestMeter } from "../helpers/test-meter";

const DAY = 86_400_000;
const tokens = {} as Record<"operator" | "auditor" | "headend", string>;

beforeAll(async () => {
  const tk = await call("POST", "/v1/admin/transport-keys", { json: { name: unique("he"), purpose: "headend", key: toHex(crypto.getRandomValues(new Uint8Array(16))) } });
  tokens.operator = await tokenFor("operator");
  tokens.auditor = await tokenFor("auditor");
  tokens.headend = await tokenFor("headend", { transportKeyId: tk.body.id });
});

async function enroll(region: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await call("POST", "/v1/admin/meters", { json: await meterInput({ region }) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ids.push(res.body.id);
  }
  return ids;
}

describe("GET /v1/admin/whoami", () => {
  it("names the caller's role, for every role, and refuses a bad token", async () => {
    for (const role of ["operator", "auditor", "headend"] as const) {
      const res = await call("GET", "/v1/admin/whoami", { token: tokens[role] });
      expect([res.status, res.body.role, res.body.id]).toEqual([200, role, expect.stringMatching(/^tok_/)]);
    }
    expect((await call("GET", "/v1/admin/whoami")).body).toEqual({ id: "bootstrap", role: "admin" });
    const bad = await call("GET", "/v1/admin/whoami", { token: "gk_not-a-token" });
    expect([bad.status, bad.body.error.code]).toEqual([401, "unauthorized"]);
  });
});

describe("GET /v1/admin/fleet", () => {
  it("counts meters and gateways by region, kind and state", async () => {
    const region = `fleet-${crypto.randomUUID().slice(0, 6)}`;
    const ids = await enroll(region, 3);
    await TestMeter.enrollGateway(region);
    expect((await call("POST", `/v1/admin/meters/${ids[0]}/suspend`, { json: {} })).status).toBe(200);
    expect((await call("POST", `/v1/admin/meters/${ids[1]}/revoke`, { json: {} })).status).toBe(200);
    const res = await call("GET", "/v1/admin/fleet", { token: tokens.auditor });
    expect(res.status).toBe(200);
    expect(res.body.counts.filter((c: { region: string }) => c.region === region)).toEqual([
      { region, kind: "gateway", state: "active", count: 1 },
      { region, kind: "meter", state: "active", count: 1 },
      { region, kind: "meter", state: "revoked", count: 1 },
      { region, kind: "meter", state: "suspended", count: 1 },
    ]);
  });

  it("follows the role matrix: readers only", async () => {
    expect((await call("GET", "/v1/admin/fleet", { token: tokens.operator })).status).toBe(200);
    const refused = await call("GET", "/v1/admin/fleet", { token: tokens.headend });
    expect([refused.status, refused.body.error.code]).toEqual([403, "forbidden"]);
    expect((await call("GET", "/v1/admin/fleet", { token: null })).status).toBe(401);
  });
});

describe("GET /v1/admin/key-ages", () => {
  it("puts each active key in one bucket against the policy in force, and reports counters used", async () => {
    const meter = await TestMeter.enroll(`ages-${crypto.randomUUID().slice(0, 6)}`);
    const region = meter.region;
    const [soon, due, late] = await enroll(region, 3);
    // Age three meters' GUEKs (built-in policy: 90 days, grace 7 days): 85, 92 and 100 days old.
    const age = (id: string, days: number) =>
      env.DB.prepare("UPDATE keys SET created_at = ? WHERE owner_type = 'meter' AND owner_id = ? AND class = 'guek'").bind(Date.now() - days * DAY, id).run();
    await age(soon!, 85);
    await age(due!, 92);
    await age(late!, 100);
    await meter.connect();
    const keys = await meter.fetchKeys();
    const upload = await meter.request("reading", new CborMap([["apdu", await meter.reading(keys.guek!.key, keys.ak!.key, 42)]]));
    expect(upload.response?.ok).toBe(true);

    const res = await call("GET", "/v1/admin/key-ages", { token: tokens.operator });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const row = (cls: string) => res.body.keys.find((k: { region: string; keyClass: string }) => k.region === region && k.keyClass === cls);
    expect(row("unicast")).toMatchObject({ active: 4, ok: 1, dueSoon: 1, due: 1, pastDue: 1, rotating: 0, rotationSeconds: 90 * 86_400, graceSeconds: 7 * 86_400, counter: { highest: 42, budget: 0xffffffff } });
    expect(new Date(row("unicast").oldestCreatedAt).getTime()).toBeLessThanOrEqual(Date.now() - 100 * DAY + 60_000);
    expect(row("authentication")).toMatchObject({ active: 4, ok: 4, due: 0, pastDue: 0, counter: null });
    expect(row("kek")).toMatchObject({ active: 4, rotationSeconds: 365 * 86_400 });
    expect(row("broadcast")).toMatchObject({ active: 1, ok: 1, rotationSeconds: 30 * 86_400 });

    // A region policy moves the same keys between buckets; a rotation under way is counted.
    await call("PUT", "/v1/admin/policies", { json: { scope: "region", scopeId: region, keyClass: "authentication", rotationSeconds: 60, graceSeconds: 0 } });
    expect((await call("POST", `/v1/admin/meters/${soon}/keys/guek/rotate`, { json: {} })).status).toBe(201);
    const after = await call("GET", "/v1/admin/key-ages", { token: tokens.auditor });
    const again = (cls: string) => after.body.keys.find((k: { region: string; keyClass: string }) => k.region === region && k.keyClass === cls);
    expect(again("authentication")).toMatchObject({ active: 4, rotationSeconds: 60, dueSoon: 4, pastDue: 0 });
    expect(again("unicast")).toMatchObject({ rotating: 1 });
    // Another region in the same answer keeps its own (built-in) policy.
    const other = `ages-${crypto.randomUUID().slice(0, 6)}`;
    await enroll(other, 1);
    const both = await call("GET", "/v1/admin/key-ages");
    expect(both.body.keys.find((k: { region: string; keyClass: string }) => k.region === other && k.keyClass === "authentication")).toMatchObject({ active: 1, ok: 1, rotationSeconds: 90 * 86_400 });
    // A suspended meter's keys are not counted: the scheduler does not rotate them.
    expect((await call("POST", `/v1/admin/meters/${due}/suspend`, { json: {} })).status).toBe(200);
    const suspended = await call("GET", "/v1/admin/key-ages");
    expect(suspended.body.keys.find((k: { region: string; keyClass: string }) => k.region === region && k.keyClass === "unicast")).toMatchObject({ active: 3, due: 0, pastDue: 1, dueSoon: 1 });
  });

  it("reports each program's group key counter against its budget", async () => {
    const program = await createProgram(4);
    const [m] = await enroll("north-1", 1);
    await members(program, { add: [m!] });
    await call("PUT", "/v1/admin/policies", { json: { scope: "program", scopeId: program, keyClass: "group", maxInvocations: 1000 } });
    for (let i = 0; i < 3; i++) expect((await call("POST", `/v1/admin/programs/${program}/commands`, { json: { command: "c0" } })).status).toBe(200);
    const res = await call("GET", "/v1/admin/key-ages", { token: tokens.auditor });
    expect(res.body.groups.find((g: { program: string }) => g.program === program)).toMatchObject({ epoch: 1, invocations: 3, budget: 1000 });
    expect((await call("GET", "/v1/admin/key-ages", { token: tokens.headend })).status).toBe(403);
  });
});

describe("GET /v1/admin/programs/{id}/epochs", () => {
  it("is the rekey timeline: every epoch with its time, joins, leaves, wraps and bundle size", async () => {
    const program = await createProgram(2);
    const ids = await enroll("north-1", 4);
    const before = Date.now();
    const first = await members(program, { add: ids });
    const second = await members(program, { remove: [ids[0]!] });
    const res = await call("GET", `/v1/admin/programs/${program}/epochs`, { token: tokens.auditor });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.epochs.map(({ at: _at, ...e }: { at: string }) => e)).toEqual([first.body.epoch, second.body.epoch]);
    expect(second.body.epoch.wraps).toBeGreaterThan(0);
    for (const e of res.body.epochs) expect(new Date(e.at).getTime()).toBeGreaterThanOrEqual(before - 1000);
    const last = await call("GET", `/v1/admin/programs/${program}/epochs?limit=1`, { token: tokens.operator });
    expect(last.body.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([2]);
  });

  it("refuses an unknown program, a bad limit and the headend role", async () => {
    const missing = await call("GET", "/v1/admin/programs/prg_none/epochs");
    expect([missing.status, missing.body.error.code]).toEqual([404, "program_not_found"]);
    const bad = await call("GET", "/v1/admin/programs/prg_none/epochs?limit=0");
    expect([bad.status, bad.body.error.code]).toEqual([400, "validation_failed"]);
    expect((await call("GET", "/v1/admin/programs/prg_none/epochs", { token: tokens.headend })).status).toBe(403);
  });
});

describe("the OpenAPI document", () => {
  it("describes the dashboard's read-only routes and their schemas", async () => {
    const doc = (await call("GET", "/v1/openapi.json", { token: null })).body;
    for (const p of ["/v1/admin/whoami", "/v1/admin/fleet", "/v1/admin/key-ages", "/v1/admin/programs/{id}/epochs"]) expect(Object.keys(doc.paths[p] ?? {}), p).toEqual(["get"]);
    for (const s of ["Principal", "FleetCount", "KeyAge", "GroupKeyBudget", "RekeyEpochRecord"]) expect(Object.keys(doc.components.schemas), s).toContain(s);
    expect(doc.components.schemas.RekeyEpochRecord.allOf).toEqual([{ $ref: "#/components/schemas/RekeyEpoch" }, expect.objectContaining({ required: ["at"] })]);
  });
});
