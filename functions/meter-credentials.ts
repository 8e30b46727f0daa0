import { makeCcs, type EdhocCredential } from "../edhoc/credentials";
import type { MeterRow } from "./enrollment";
import { fromHex } from "./crypto";

/**
 * A meter's EDHOC credential (docs/protocol.md §2): the CCS
 *   { 2: "<meter id>", 8: { 1: { 1: 2, 2: h'<system title>', -1: crv, -2: x, -3: y } } }
 * built deterministically from the enrolled identity key, so the meter holds the same bytes.
 * Its kid is the meter's 8-byte DLMS system title, unique in the registry.
 */
export function meterCredential(meter: MeterRow): EdhocCredential {
  const sec1 = fromHex(meter.identityPublicKey);
  const size = (sec1.length - 1) / 2;
  return makeCcs({
    subject: meter.id,
    kid: fromHex(meter.systemTitle),
    curve: meter.identityCurve,
    x: sec1.slice(1, 1 + size),
    y: sec1.slice(1 + size),
  });
}
