import { exports } from "cloudflare:workers";
import { aeskw } from "@noble/ciphers/aes.js";
import { p256, p384 } from "@noble/curves/nist.js";
import { expect } from "vitest";
import { toHex } from "../../functions/crypto";
import { fetchTrustAnchor, MeterClient, type FetchLike } from "../../sdk";
import { call, unique } from "./http";
import { systemTitle } from "./meters";

export const workerFetch: FetchLike = (input, init) => exports.default.fetch(input, init);
export const BASE = "http://gridkey.test";

/** Enrolls a meter through the admin API and returns a MeterClient for it, talking to the worker. */
export async function enrolledClient(region = "north-1", dlmsSuite: 1 | 2 = 1) {
  const curve = dlmsSuite === 2 ? p384 : p256;
  const identityKey = curve.utils.randomSecretKey();
  const kek = crypto.getRandomValues(new Uint8Array(dlmsSuite === 2 ? 32 : 16));
  const tk = crypto.getRandomValues(new Uint8Array(16));
  const transport = await call("POST", "/v1/admin/transport-keys", { json: { name: unique("mfr"), purpose: "manufacturer", key: toHex(tk) } });
  const id = unique("MTR");
  const title = systemTitle();
  const res = await call("POST", "/v1/admin/meters", {
    json: { id, systemTitle: title, region, suite: dlmsSuite, identityPublicKey: toHex(curve.getPublicKey(identityKey, false)), manufacturerKeys: { transportKeyId: transport.body.id, kek: toHex(aeskw(tk).encrypt(kek)) } },
  });
  expect(res.status).toBe(201);
  const trustAnchor = await fetchTrustAnchor(BASE, workerFetch);
  const client = new MeterClient({ baseUrl: BASE, region, meterId: id, systemTitle: title, identityKey, kek, dlmsSuite, trustAnchor, fetch: workerFetch });
  return { id, title, client, kek };
}
