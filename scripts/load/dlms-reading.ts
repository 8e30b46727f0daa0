/**
 * The simulated meter's reading, an xDLMS data-notification (IEC 62056-5-3 §9.5):
 *   0F                          data-notification
 *   <4 bytes>                   long-invoke-id-and-priority (the meter's sequence number)
 *   0C <12 bytes>               date-time: octet-string(12), COSEM date-time, UTC
 *   02 02                       structure of 2
 *     09 06 01 00 01 08 00 FF   octet-string(6): OBIS 1.0.1.8.0.255, active energy import (+A), total
 *     06 <4 bytes>              double-long-unsigned: the register value, Wh
 */
export function dataNotification(invokeId: number, registerWh: number, at: Date): Uint8Array {
  const out = new Uint8Array(5 + 13 + 2 + 8 + 5);
  const view = new DataView(out.buffer);
  out[0] = 0x0f;
  view.setUint32(1, invokeId >>> 0);
  out.set([0x0c, ...cosemDateTime(at)], 5);
  out.set([0x02, 0x02, 0x09, 0x06, 0x01, 0x00, 0x01, 0x08, 0x00, 0xff, 0x06], 18);
  view.setUint32(29, registerWh >>> 0);
  return out;
}

/** COSEM date-time (Blue Book 4.1.6.1): year, month, day, weekday, h, m, s, hundredths, deviation 0 (UTC), status 0. */
function cosemDateTime(d: Date): number[] {
  const year = d.getUTCFullYear();
  const weekday = d.getUTCDay() === 0 ? 7 : d.getUTCDay(); // Monday 1 .. Sunday 7
  const hundredths = Math.floor(d.getUTCMilliseconds() / 10);
  return [year >> 8, year & 0xff, d.getUTCMonth() + 1, d.getUTCDate(), weekday, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), hundredths, 0, 0, 0];
}
