import { describe, expect, it } from "vitest";
import { call } from "../helpers/http";
import { createProgram, members } from "../helpers/groups";
import { publicKey, systemTitle } from "../helpers/meters";

/** n active meters, enrolled in bulk (the costs below need no sessions). */
async function bulkMeters(n: number, tag: string): Promise<string[]> {
  const key = await publicKey();
  const ids = Array.from({ length: n }, (_, i) => `${tag}-${crypto.randomUUID().slice(0, 6)}-${i}`);
  const body = ids.map((id) => JSON.stringify({ id, systemTitle: systemTitle(), region: "north-1", suite: 1, identityPublicKey: key })).join("\n");
  const res = await call("POST", "/v1/admin/meters/bulk", { body, contentType: "application/x-ndjson" });
  expect(res.status).toBe(201);
  return ids;
}

// docs/groups.md §3 gives these formulas; the tests pin the counts to them.
describe("rekey costs match the formulas", () => {
  for (const [degree, height] of [[4, 3], [2, 5], [3, 3]] as const) {
    it(`leave from a full tree of degree ${degree}, height ${height}: d·h − 1 = ${degree * height - 1} wraps`, async () => {
      const n = degree ** height;
      const ids = await bulkMeters(n, `full${degree}`);
      const program = await createProgram(degree);
      const built = await members(program, { add: ids });
      expect(built.body.program).toMatchObject({ members: n, height });
      const left = await members(program, { remove: [ids[n - 1]!] });
      expect(left.body.epoch).toMatchObject({ wraps: degree * height - 1, forwards: 0 });
      expect(left.body.epoch.wraps).toBeLessThanOrEqual(degree * Math.ceil(Math.log(n) / Math.log(degree)));
    });
  }

  it("a join costs no wrap (h forwards), and one wrap when it makes the tree taller", async () => {
    const ids = await bulkMeters(17, "join");
    const program = await createProgram(4);
    await members(program, { add: ids.slice(0, 15) });
    const fits = await members(program, { add: [ids[15]!] });
    expect(fits.body.epoch).toMatchObject({ wraps: 0, forwards: 2, joined: 1 });
    const grows = await members(program, { add: [ids[16]!] });
    expect(grows.body.program.height).toBe(3);
    expect(grows.body.epoch).toMatchObject({ wraps: 1, joined: 1 });
  });

  it("a batch costs strictly less than the same changes one by one", async () => {
    const ids = await bulkMeters(64 + 4, "batch");
    const [one, batched] = [await createProgram(4), await createProgram(4, "batched")];
    await members(one, { add: ids.slice(0, 64) });
    await members(batched, { add: ids.slice(0, 64) });
    await call("POST", `/v1/admin/programs/${batched}/rekey`);
    const leaving = [ids[0]!, ids[1]!, ids[5]!, ids[40]!];
    const joining = ids.slice(64, 68);
    let single = 0;
    for (const m of leaving) single += (await members(one, { remove: [m] })).body.epoch.wraps;
    for (const m of joining) single += (await members(one, { add: [m] })).body.epoch.wraps;
    await members(batched, { remove: leaving, add: joining });
    const flushed = await call("POST", `/v1/admin/programs/${batched}/rekey`);
    expect(flushed.body.epoch).toMatchObject({ joined: 4, left: 4 });
    expect(flushed.body.epoch.wraps).toBeLessThan(single);
  });
});
