/**
 * Issue 6 item 4, the rekey fetch probe (run inside the load generator): a meter one epoch
 * behind asks for its part of a DR program's newest epoch through its session (`rekey` op with
 * its leaf, sdk/meter-client.ts), which the concentrator cuts from its cached bundle
 * (workers/session-operations.ts, docs/groups.md §4). To stay one epoch behind on every
 * fetch, the probe restores its keys from the signed snapshot it got at the previous epoch
 * (not timed) and then times the request and the SDK applying the view.
 */
import { CborMap } from "../../edhoc/cbor.js";
import { GroupKeys, type MeterClient, SdkError, type TrustAnchor } from "../../sdk/index.js";

export type RekeyProbe = { client: MeterClient; kek: Uint8Array; program: string; snapshot: Uint8Array; leaf: number; epoch: number };

function keysFrom(p: Pick<RekeyProbe, "kek" | "program" | "snapshot">, anchor: TrustAnchor): GroupKeys {
  const g = new GroupKeys(anchor, () => [p.kek]);
  g.apply(p.program, { kind: "snapshot", signed: p.snapshot });
  return g;
}

/** The probe's signed snapshot of its path at the program's current epoch (a member with nothing held gets one). */
export async function prepareProbe(client: MeterClient, kek: Uint8Array, program: string, anchor: TrustAnchor): Promise<RekeyProbe> {
  const result = await client.request("rekey", { program, epoch: 0 });
  const snapshot = result.get("snapshot");
  if (result.get("kind") !== "snapshot" || !(snapshot instanceof Uint8Array)) throw new SdkError("bad_response", "expected a snapshot for a member holding nothing");
  const g = keysFrom({ kek, program, snapshot }, anchor);
  const leaf = g.leafOf(program);
  if (leaf === undefined) throw new SdkError("rekey_incomplete", "the snapshot gave no leaf");
  return { client, kek, program, snapshot, leaf, epoch: g.epochOf(program) };
}

/** One fetch one epoch behind: the request and the view's application, timed; checks the new group key arrived. */
export async function fetchOneBehind(p: RekeyProbe, anchor: TrustAnchor): Promise<number> {
  const g = keysFrom(p, anchor);
  const started = performance.now();
  const result: CborMap = await p.client.request("rekey", { program: p.program, epoch: p.epoch, leaf: p.leaf });
  const view = result.get("view");
  if (result.get("kind") !== "view" || !(view instanceof Uint8Array)) throw new SdkError("bad_response", `expected a view, got ${String(result.get("kind"))}`);
  g.apply(p.program, { kind: "view", view });
  const elapsed = performance.now() - started;
  const key = g.groupKey(p.program);
  g.forget(p.program);
  if (key?.epoch !== p.epoch + 1) throw new SdkError("rekey_incomplete", "the view did not bring the next group key");
  key.key.fill(0);
  return elapsed;
}
