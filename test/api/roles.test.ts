import { beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../functions/crypto";
import { call, tokenFor, unique } from "../helpers/http";
import { meterInput } from "../helpers/meters";

type Role = "admin" | "operator" | "auditor" | "headend";

/** Every admin route and the roles that may call it (DESIGN.md §6). */
const MATRIX: Array<{ route: string; method: string; path: string; allowed: Role[]; json?: () => Promise<unknown> }> = [
  { route: "create token", method: "POST", path: "/v1/admin/tokens", allowed: ["admin"], json: async () => ({ name: unique("m"), role: "auditor" }) },
  { route: "list tokens", method: "GET", path: "/v1/admin/tokens", allowed: ["admin"] },
  { route: "revoke token", method: "DELETE", path: "/v1/admin/tokens/tok_none", allowed: ["admin"] },
  { route: "import transport key", method: "POST", path: "/v1/admin/transport-keys", allowed: ["admin"], json: async () => ({ name: unique("tk"), purpose: "manufacturer", key: toHex(crypto.getRandomValues(new Uint8Array(16))) }) },
  { route: "list transport keys", method: "GET", path: "/v1/admin/transport-keys", allowed: ["admin", "operator", "auditor"] },
  { route: "enroll", method: "POST", path: "/v1/admin/meters", allowed: ["admin", "operator"], json: () => meterInput() },
  { route: "enroll gateway", method: "POST", path: "/v1/admin/gateways", allowed: ["admin", "operator"], json: async () => { const m = await meterInput(); return { id: m.id, systemTitle: m.systemTitle, region: m.region, identityPublicKey: m.identityPublicKey }; } },
  { route: "bulk enroll", method: "POST", path: "/v1/admin/meters/bulk", allowed: ["admin", "operator"] },
  { route: "list meters", method: "GET", path: "/v1/admin/meters", allowed: ["admin", "operator", "auditor"] },
  { route: "get meter", method: "GET", path: "/v1/admin/meters/MTR-none", allowed: ["admin", "operator", "auditor"] },
  { route: "meter keys", method: "GET", path: "/v1/admin/meters/MTR-none/keys", allowed: ["admin", "operator", "auditor"] },
  { route: "suspend", method: "POST", path: "/v1/admin/meters/MTR-none/suspend", allowed: ["admin", "operator"] },
  { route: "resume", method: "POST", path: "/v1/admin/meters/MTR-none/resume", allowed: ["admin", "operator"] },
  { route: "revoke", method: "POST", path: "/v1/admin/meters/MTR-none/revoke", allowed: ["admin", "operator"] },
  { route: "rotate key", method: "POST", path: "/v1/admin/meters/MTR-none/keys/guek/rotate", allowed: ["admin", "operator"] },
  { route: "export", method: "GET", path: "/v1/admin/meters/MTR-none/export", allowed: ["headend"] },
  { route: "key versions", method: "GET", path: "/v1/admin/keys/key_none", allowed: ["admin", "operator", "auditor"] },
  { route: "create program", method: "POST", path: "/v1/admin/programs", allowed: ["admin", "operator"], json: async () => ({ name: unique("p") }) },
  { route: "list programs", method: "GET", path: "/v1/admin/programs", allowed: ["admin", "operator", "auditor"] },
  { route: "get program", method: "GET", path: "/v1/admin/programs/prg_none", allowed: ["admin", "operator", "auditor"] },
  { route: "delete program", method: "DELETE", path: "/v1/admin/programs/prg_none", allowed: ["admin", "operator"] },
  { route: "change members", method: "POST", path: "/v1/admin/programs/prg_none/members", allowed: ["admin", "operator"], json: async () => ({ add: [] }) },
  { route: "seal command", method: "POST", path: "/v1/admin/programs/prg_none/commands", allowed: ["admin", "operator"], json: async () => ({ command: "c0" }) },
  { route: "rekey program", method: "POST", path: "/v1/admin/programs/prg_none/rekey", allowed: ["admin", "operator"] },
  { route: "list policies", method: "GET", path: "/v1/admin/policies", allowed: ["admin", "operator", "auditor"] },
  { route: "set policy", method: "PUT", path: "/v1/admin/policies", allowed: ["admin", "operator"], json: async () => ({ scope: "default", keyClass: "session", sessionLifetimeSeconds: 3600 }) },
  { route: "region compromise", method: "POST", path: "/v1/admin/regions/role-test/compromise", allowed: ["admin"] },
  { route: "audit", method: "GET", path: "/v1/admin/audit", allowed: ["admin", "auditor"] },
  { route: "audit verify", method: "GET", path: "/v1/admin/audit/verify", allowed: ["admin", "auditor"] },
  { route: "master key status", method: "GET", path: "/v1/admin/master-key", allowed: ["admin", "auditor"] },
  { route: "rewrap", method: "POST", path: "/v1/admin/master-key/rewrap", allowed: ["admin"] },
];

const tokens = {} as Record<Role, string>;

beforeAll(async () => {
  const tk = await call("POST", "/v1/admin/transport-keys", {
    json: { name: unique("he"), purpose: "headend", key: toHex(crypto.getRandomValues(new Uint8Array(16))) },
  });
  for (const role of ["admin", "operator", "auditor"] as const) tokens[role] = await tokenFor(role);
  tokens.headend = await tokenFor("headend", { transportKeyId: tk.body.id });
});

describe("the role matrix", () => {
  for (const entry of MATRIX) {
    for (const role of ["admin", "operator", "auditor", "headend"] as const) {
      const allowed = entry.allowed.includes(role);
      it(`${entry.route}: ${role} is ${allowed ? "let through" : "refused"}`, async () => {
        const json = entry.json ? await entry.json() : undefined;
        const res = await call(entry.method, entry.path, { token: tokens[role], json });
        if (allowed) {
          expect(res.status, JSON.stringify(res.body)).not.toBe(403);
          expect(res.status).not.toBe(401);
        } else {
          expect([res.status, res.body.error.code]).toEqual([403, "forbidden"]);
        }
      });
    }
  }
});
