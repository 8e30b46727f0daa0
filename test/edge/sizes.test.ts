import { describe, expect, it } from "vitest";
import { continueRequest, message1Request } from "../../edhoc/transport";
import { post, TestMeter } from "../helpers/test-meter";

const EDHOC = "application/cid-edhoc+cbor-seq";

// docs/protocol.md §7 states these sizes; this keeps the page honest.
describe("bytes on the wire for the default profile (method 3, suite 2, kid credentials)", () => {
  it("message_1 is 37 or 38 bytes (C_I is one random byte), message_2 53, message_3 28", async () => {
    const meter = await TestMeter.enroll();
    const initiator = meter.initiator();
    const m1 = await initiator.message1();
    const res = await post(`/.well-known/edhoc?region=${meter.region}`, "POST", message1Request(m1), EDHOC);
    const m2 = new Uint8Array(await res.arrayBuffer());
    const { connectionIdResponder } = await initiator.processMessage2(m2);
    const m3 = await initiator.message3();
    const done = await post(`/.well-known/edhoc?region=${meter.region}`, "POST", continueRequest(connectionIdResponder, m3), EDHOC);
    expect(done.status).toBe(204);
    expect(m1.length).toBe(initiator.connectionId[0]! < 0x18 || (initiator.connectionId[0]! >= 0x20 && initiator.connectionId[0]! < 0x38) ? 37 : 38);
    expect([m2.length, m3.length]).toEqual([53, 28]);
  });
});
