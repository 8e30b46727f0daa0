import { env, exports } from "cloudflare:workers";
import { parseCcs } from "../../edhoc/credentials";
import { CREDENTIAL_PERIOD_SECONDS, credentialExpiry } from "../../functions/concentrator-credential";
import { decodeCwt } from "../../wire/cwt";
import { describe, expect, it } from "vitest";
import { toHex } from "../../functions/crypto";
import { call, tokenFor } from "../helpers/http";
import { createProgram, groupKeyOf, members } from "../helpers/groups";
import { enrolledClient } from "../helpers/sdk-meter";

describe("a compromised region, in one call", () => {
  it("drops sessions and caches, replaces credentials and broadcast keys, rekeys programs; meters carry on", async () => {
    const { client, id } = await enrolledClient("comp-1");
    const program = await createProgram(2);
    await members(program, { add: [id] });
    const before = await client.fetchKeys();
    await client.rekey(program);
    const groupBefore = (await groupKeyOf(program))!;
    const regionBefore = await client.rekey("region:comp-1");

    const forbidden = await call("POST", "/v1/admin/regions/comp-1/compromise", { token: await tokenFor("operator") });
    expect(forbidden.status).toBe(403);
    const report = await call("POST", "/v1/admin/regions/comp-1/compromise");
    expect(report.status, JSON.stringify(report.body)).toBe(200);
    expect(report.body.sessionsDropped).toBe(1);
    expect(report.body.keysReplaced).toEqual(expect.arrayContaining(["concentrator:comp-1", "concentrator:comp-1:P-384", "gbek:comp-1:AES-128", "region:comp-1"]));
    expect(report.body.programsRekeyed).toEqual([program]);

    const old = await env.DB.prepare("SELECT state, wrapped FROM keys WHERE id = 'concentrator:comp-1' AND version = 1").first<{ state: string; wrapped: string | null }>();
    expect(old).toEqual({ state: "destroyed", wrapped: null });

    // The meter's session is gone: the SDK runs EDHOC again against the new credential.
    const after = await client.fetchKeys();
    expect(toHex(after.gbek!.key)).not.toBe(toHex(before.gbek!.key));
    expect(toHex(after.guek!.key)).toBe(toHex(before.guek!.key));
    const group = await client.rekey(program);
    expect([group.epoch, toHex(group.key)]).toEqual([groupBefore.epoch + 1, (await groupKeyOf(program))!.key]);
    expect(toHex(group.key)).not.toBe(groupBefore.key);
    // The region's broadcast group key is new too.
    const regionAfter = await client.rekey("region:comp-1");
    expect([regionAfter.epoch, toHex(regionAfter.key)]).toEqual([regionBefore.epoch + 1, (await groupKeyOf("region:comp-1"))!.key]);
    expect(toHex(regionAfter.key)).not.toBe(toHex(regionBefore.key));
  });

  it("bounds how long a replaced concentrator key is trusted: credentials expire within two periods, and a compromise gives a new kid", async () => {
    const credential = async () => {
      const res = await exports.default.fetch("http://gridkey.test/v1/edge/credential?region=comp-2&curve=P-256");
      expect(res.status).toBe(200);
      return parseCcs(decodeCwt(new Uint8Array(await res.arrayBuffer())).payload);
    };
    const [first, again] = [await credential(), await credential()];
    const now = Math.floor(Date.now() / 1000);
    expect(first.expiresAt).toBe(credentialExpiry(Date.now()));
    expect(first.expiresAt! - now).toBeGreaterThan(CREDENTIAL_PERIOD_SECONDS);
    expect(first.expiresAt! - now).toBeLessThanOrEqual(2 * CREDENTIAL_PERIOD_SECONDS);
    expect(toHex(again.bytes)).toBe(toHex(first.bytes)); // one credential per period: meters keep their cache
    expect((await call("POST", "/v1/admin/regions/comp-2/compromise")).status).toBe(200);
    const replaced = await credential();
    expect(toHex(replaced.kid)).not.toBe(toHex(first.kid));
  });
});
