import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CborMap } from "../../edhoc/cbor";
import { custodyFor } from "../../functions/custody";
import { database } from "../../functions/db";
import { activeKeysOfOwner, openKey } from "../../functions/key-store";
import { call } from "../helpers/http";
import { post, TestMeter } from "../helpers/test-meter";
import { makeCcs, parseCcs } from "../../edhoc/credentials";
import { EdhocInitiator } from "../../edhoc/initiator";
import { continueRequest, message1Request } from "../../edhoc/transport";
import { webCryptoProvider } from "../../edhoc/webcrypto-provider";
import { fromHex, generateP384KeyPair, toHex } from "../../functions/crypto";
import { decodeCwt } from "../../wire/cwt";

const audited = async (code: string) =>
  (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'edge.refused' AND details LIKE ?").bind(`%"code":"${code}"%`).first<{ n: number }>())!.n;

describe("a meter's EDHOC session", () => {
  it("completes EDHOC (method 3, suite 2) with its first request riding on message_3", async () => {
    const meter = await TestMeter.enroll();
    const first = await meter.connect();
    expect(first.status).toBe(200);
    expect(first.response).toEqual({ ok: true, result: new CborMap() });
    const second = await meter.request("ping");
    expect(second.response?.ok).toBe(true);
  });

  it("delivers GUEK, AK and the region's GBEK wrapped under the meter's KEK, as DLMS key transfer", async () => {
    const meter = await TestMeter.enroll();
    await meter.connect();
    const keys = await meter.fetchKeys();
    expect(Object.keys(keys).sort()).toEqual(["ak", "gbek", "guek"]);
    const custody = await custodyFor(env);
    for (const row of await activeKeysOfOwner(database(env.DB), "meter", meter.id)) {
      if (row.keyClass === "kek") continue;
      expect(keys[row.keyClass]!.key).toEqual(await openKey(custody, row));
    }
    const other = await TestMeter.enroll();
    await other.connect();
    expect((await other.fetchKeys()).gbek!.key).toEqual(keys.gbek!.key);
  });

  it("accepts a DLMS-protected reading once, with a strictly increasing invocation counter", async () => {
    const meter = await TestMeter.enroll();
    await meter.connect();
    const keys = await meter.fetchKeys();
    const apdu = await meter.reading(keys.guek!.key, keys.ak!.key, 7);
    const ok = await meter.request("reading", new CborMap([["apdu", apdu]]));
    expect(ok.response).toEqual({ ok: true, result: new CborMap([["invocationCounter", 7]]) });
    const row = await env.DB.prepare("SELECT * FROM readings WHERE meter_id = ?").bind(meter.id).first<Record<string, unknown>>();
    expect(row).toMatchObject({ invocation_counter: 7, payload: "0f00000001020309060100010800ff06000f4240", via: meter.id });

    const replay = await meter.request("reading", new CborMap([["apdu", apdu]]));
    expect(replay.response).toMatchObject({ ok: false, code: "reading_replayed" });
    const older = await meter.request("reading", new CborMap([["apdu", await meter.reading(keys.guek!.key, keys.ak!.key, 6)]]));
    expect(older.response).toMatchObject({ ok: false, code: "reading_replayed" });
    const forged = await meter.reading(keys.guek!.key, keys.ak!.key.map((b) => b ^ 1), 8);
    expect((await meter.request("reading", new CborMap([["apdu", forged]]))).response).toMatchObject({ ok: false, code: "reading_rejected" });
    const { sealGloCiphering } = await import("../../functions/crypto");
    const unauthenticated = await sealGloCiphering({ systemTitle: fromHex(meter.systemTitle), securityControl: 0x21, invocationCounter: 9 }, { ek: keys.guek!.key, ak: keys.ak!.key }, fromHex("0f00"));
    expect((await meter.request("reading", new CborMap([["apdu", unauthenticated]]))).response).toMatchObject({ ok: false, code: "reading_rejected" });
    expect(await audited("reading_replayed")).toBeGreaterThanOrEqual(2);
    expect(await audited("reading_rejected")).toBeGreaterThanOrEqual(1);
  });

  it("refuses a replayed or reordered session message", async () => {
    const meter = await TestMeter.enroll();
    await meter.connect();
    await meter.request("ping");
    const replay = await meter.send(meter.lastRecord!, meter.counter);
    expect([replay.status, replay.error]).toEqual([409, "replayed_message"]);
    await meter.request("ping", new CborMap(), 10);
    const reordered = await meter.request("ping", new CborMap(), 9);
    expect([reordered.status, reordered.error]).toEqual([409, "replayed_message"]);
    const again = await meter.request("ping", new CborMap(), 10);
    expect([again.status, again.error]).toEqual([409, "replayed_message"]);
    expect((await meter.request("ping", new CborMap(), 11)).status).toBe(200);
    expect(await audited("replayed_message")).toBeGreaterThanOrEqual(3);
  });

  it("refuses a session message whose tag does not verify", async () => {
    const meter = await TestMeter.enroll();
    await meter.connect();
    const { sealRequest } = await import("../../wire/session-record");
    const { webCryptoSessionAead } = await import("../../functions/session-aead");
    const record = await sealRequest(webCryptoSessionAead, meter.keys!, meter.connectionId!, 5, { op: "ping", args: new CborMap() });
    record[record.length - 1]! ^= 1;
    const res = await meter.send(record, 5);
    expect([res.status, res.error]).toEqual([400, "bad_mac"]);
    expect(await audited("bad_mac")).toBeGreaterThanOrEqual(1);
    expect((await meter.request("ping", new CborMap(), 5)).status).toBe(200); // the forgery consumed nothing
  });

  it("answers a replayed message_1 with a fresh exchange that creates no session", async () => {
    const meter = await TestMeter.enroll("replay-1");
    const initiator = meter.initiator();
    const m1 = message1Request(await initiator.message1());
    const edhoc = () => post(`/.well-known/edhoc?region=${meter.region}`, "POST", m1, "application/cid-edhoc+cbor-seq");
    const first = new Uint8Array(await (await edhoc()).arrayBuffer());
    const replay = new Uint8Array(await (await edhoc()).arrayBuffer());
    expect(toHex(replay)).not.toBe(toHex(first)); // a new ephemeral key: nothing of the first exchange is repeated
    const sessions = await runInDurableObject(env.CONCENTRATOR.get(env.CONCENTRATOR.idFromName(meter.region)), async (_i, state) => [...(await state.storage.list({ prefix: "s:" })).keys()]);
    expect(sessions).toEqual([]);
  });

  it("refuses a replayed message_3 and a message_3 nobody waits for", async () => {
    const meter = await TestMeter.enroll();
    const { res, body, initiator } = await meter.start();
    expect(res.status).toBe(200);
    const m2 = await initiator.processMessage2(body);
    const m3 = await initiator.message3();
    const send = () => post(`/.well-known/edhoc?region=${meter.region}`, "POST", continueRequest(m2.connectionIdResponder, m3), "application/cid-edhoc+cbor-seq");
    expect((await send()).status).toBe(204);
    const replay = await send();
    expect([replay.status, replay.headers.get("gridkey-error")]).toEqual([404, "unknown_exchange"]);
    expect((await replay.json<{ error: { code: string } }>()).error.code).toBe("unknown_exchange");
    expect(await audited("unknown_exchange")).toBeGreaterThanOrEqual(1);
  });

  it("refuses an unknown meter, a suspended or revoked one, and one of another region", async () => {
    const ghost = await TestMeter.enroll();
    await env.DB.prepare("UPDATE meters SET system_title = '00000000DEADBEEF' WHERE id = ?").bind(ghost.id).run();
    const unknown = await ghost.connect();
    expect([unknown.status, unknown.error]).toEqual([400, "unknown_meter"]);
    expect(Array.from(unknown.raw)).toEqual([0x03, 0xf5]); // EDHOC error: ERR_CODE 3, ERR_INFO true

    const suspended = await TestMeter.enroll();
    await call("POST", `/v1/admin/meters/${suspended.id}/suspend`);
    expect((await suspended.connect()).error).toBe("meter_suspended");

    const revoked = await TestMeter.enroll();
    await call("POST", `/v1/admin/meters/${revoked.id}/revoke`);
    expect((await revoked.connect()).error).toBe("meter_revoked");

    const elsewhere = await TestMeter.enroll("south-2");
    const wrong = await elsewhere.connect({ op: "ping" }, "north-1");
    expect([wrong.status, wrong.error]).toEqual([403, "wrong_region"]);
    for (const code of ["unknown_meter", "meter_suspended", "meter_revoked", "wrong_region"]) expect(await audited(code), code).toBeGreaterThanOrEqual(1);
  });

  it("ends a meter's sessions when it is suspended or revoked", async () => {
    const meter = await TestMeter.enroll();
    await meter.connect();
    await call("POST", `/v1/admin/meters/${meter.id}/suspend`);
    const after = await meter.request("ping");
    expect([after.status, after.error]).toEqual([401, "unknown_session"]);
    await call("POST", `/v1/admin/meters/${meter.id}/resume`);
    expect((await meter.connect()).status).toBe(200);
    await call("POST", `/v1/admin/meters/${meter.id}/revoke`);
    expect((await meter.request("ping")).error).toBe("unknown_session");
  });

  it("negotiates the cipher suite: an initiator selecting suite 3 learns SUITES_R and retries with 2", async () => {
    const meter = await TestMeter.enroll();
    const first = await meter.start(meter.region, meter.initiator([3, 2]));
    expect([first.res.status, first.res.headers.get("gridkey-error")]).toEqual([400, "unsupported_suite"]);
    expect(await audited("unsupported_suite")).toBeGreaterThanOrEqual(1);
    expect(Array.from(first.body)).toEqual([0x02, 0x82, 0x02, 0x18, 0x18]); // ERR_CODE 2, SUITES_R [2, 24]
    const err = await first.initiator.processMessage2(first.body).catch((e) => e);
    expect(err.suitesR).toEqual([2, 24]);
    const retry = await meter.start(meter.region, meter.initiator([3, 2], err.suitesR));
    expect(retry.res.status).toBe(200);
    // Offering 6 then 2, selecting 2, is accepted at once: 2 is the first of SUITES_I we support.
    const second = await meter.start(meter.region, meter.initiator([6, 2], [2]));
    expect(second.res.status).toBe(200);
  });

  it("refuses malformed and oversized requests with their own codes", async () => {
    const edhoc = (body: Uint8Array, type = "application/cid-edhoc+cbor-seq", region = "north-1") => post(`/.well-known/edhoc?region=${region}`, "POST", body, type);
    const garbage = await edhoc(Uint8Array.of(0xf5, 0xff, 0x00));
    expect([garbage.status, garbage.headers.get("gridkey-error")]).toEqual([400, "edhoc_failed"]);
    const json = await edhoc(Uint8Array.of(0xf5), "application/json");
    expect([json.status, (await json.json<{ error: { code: string } }>()).error.code]).toEqual([415, "unsupported_media_type"]);
    const big = await edhoc(new Uint8Array(5000).fill(0xf5));
    expect([big.status, (await big.json<{ error: { code: string } }>()).error.code]).toEqual([413, "body_too_large"]);
    const noRegion = await post("/.well-known/edhoc", "POST", Uint8Array.of(0xf5), "application/cid-edhoc+cbor-seq");
    expect([noRegion.status, (await noRegion.json<{ error: { code: string } }>()).error.code]).toEqual([400, "bad_parameter"]);
    const session = await post("/v1/edge/session?region=north-1", "POST", Uint8Array.of(0x01, 0x02), "application/gridkey-session+cbor-seq");
    expect([session.status, (await session.json<{ error: { code: string } }>()).error.code]).toEqual([400, "bad_frame"]);
    const unknown = await post("/v1/edge/session?region=north-1", "POST", Uint8Array.of(0x44, 1, 2, 3, 4, 0x01, 0x41, 0x00), "application/gridkey-session+cbor-seq");
    expect((await unknown.json<{ error: { code: string } }>()).error.code).toBe("unknown_session");
    for (const code of ["edhoc_failed", "unsupported_media_type", "body_too_large", "bad_parameter", "bad_frame", "unknown_session"]) {
      expect(await audited(code), code).toBeGreaterThanOrEqual(1);
    }
  });
});

describe("the second profile: EDHOC suite 24 for DLMS security suite 2 meters", () => {
  it("runs EDHOC with P-384 / A256GCM, delivers AES-256 keys and accepts suite-2 frames", async () => {
    const meter = await TestMeter.enroll("north-1", {}, "P-384");
    const first = await meter.connect();
    expect(first.status).toBe(200);
    expect(meter.keys!.keyI2R).toHaveLength(32);
    const keys = await meter.fetchKeys();
    for (const k of Object.values(keys)) expect(k.key).toHaveLength(32);
    const apdu = await meter.reading(keys.guek!.key, keys.ak!.key, 1);
    expect((await meter.request("reading", new CborMap([["apdu", apdu]]))).response?.ok).toBe(true);
  });

  it("refuses a meter whose enrolled credential does not fit the suite it runs", async () => {
    const meter = await TestMeter.enroll(); // enrolled with a P-256 identity
    const impostor = await generateP384KeyPair();
    const ccs = makeCcs({ subject: meter.id, kid: fromHex(meter.systemTitle), curve: "P-384", x: impostor.publicKey.slice(1, 49), y: impostor.publicKey.slice(49) });
    const credentialRes = await post(`/v1/edge/credential?region=${meter.region}&curve=P-384`, "GET");
    const p384Credential = parseCcs(decodeCwt(new Uint8Array(await credentialRes.arrayBuffer())).payload);
    const initiator = new EdhocInitiator({
      provider: webCryptoProvider,
      method: 3,
      suites: [24],
      credential: { credential: ccs, privateKey: impostor.privateKey },
      resolveCredential: () => p384Credential,
    });
    const { res, body } = await meter.start(meter.region, initiator);
    expect(res.status).toBe(200);
    const { connectionIdResponder } = await initiator.processMessage2(body);
    const m3 = await initiator.message3();
    const done = await post(`/.well-known/edhoc?region=${meter.region}`, "POST", continueRequest(connectionIdResponder, m3), "application/cid-edhoc+cbor-seq");
    expect([done.status, done.headers.get("gridkey-error")]).toEqual([400, "edhoc_failed"]);
  });
});
