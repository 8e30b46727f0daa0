/**
 * Issue 6 item 2, the member's side: what the meter SDK (sdk/group-keys.ts, noble) does to
 * process one rekey it received, counted and timed in this Node process. The inputs are real:
 * a signed snapshot and a view that gridkey's KeyGraph produced for one member (the observer).
 */
import { decode } from "../../edhoc/cbor.js";
import { trustAnchorOf } from "../../sdk/credential-cache.js";
import { GroupKeys } from "../../sdk/group-keys.js";
import { decodeEntry, decodeMemberView } from "../../wire/rekey.js";

export type MemberCost = {
  case: string;
  /** The view as sent (signed header, entries on the member's path, Merkle proofs), bytes. */
  viewBytes: number;
  entries: number;
  /** RFC 3394 unwraps and HMAC forwards the SDK actually applied; ES256 checks; SHA-256 runs of the proofs. */
  unwraps: number;
  forwards: number;
  signatureChecks: number;
  proofHashes: number;
  /** Keys the member holds for the program after the update: its leaf-to-root path. */
  heldKeys: number;
  /** The epoch the view brought the member to. */
  epoch: number;
  /** `GroupKeys.apply(view)` per sample, ms (the first, a warm-up, left out). */
  ms: number[];
};

type Anchor = { kid: string; publicKey: string };

const at = (k: { level: number; index: number }) => `${k.level}/${k.index}`;

/** The member's path keys as held after applying `snapshot`: a fresh meter state each time. */
function fromSnapshot(program: string, anchor: Anchor, kek: Uint8Array, snapshot: Uint8Array): GroupKeys {
  const g = new GroupKeys(trustAnchorOf(anchor), () => [kek]);
  g.apply(program, { kind: "snapshot", signed: snapshot });
  return g;
}

/** How many keys a member holds for a program after a snapshot: the path length it actually stores. */
export function heldAfterSnapshot(program: string, anchor: Anchor, kek: Uint8Array, snapshot: Uint8Array): { keys: number; epoch: number } {
  const g = fromSnapshot(program, anchor, kek, snapshot);
  return { keys: g.heldKeys(program).length, epoch: g.epochOf(program) };
}

export function memberCost(label: string, program: string, anchor: Anchor, kek: Uint8Array, snapshot: Uint8Array, view: Uint8Array, samples: number): MemberCost {
  const decoded = decodeMemberView(decode(view));
  const entries = decoded.items.map((i) => decodeEntry(i.entry));
  const ms: number[] = [];
  let counts = { unwraps: 0, forwards: 0, heldKeys: 0, epoch: 0 };
  for (let s = 0; s <= samples; s++) {
    const g = fromSnapshot(program, anchor, kek, snapshot);
    const before = new Map(g.heldKeys(program).map((k) => [at(k), k.version]));
    const heldEpoch = g.epochOf(program);
    const started = performance.now();
    g.apply(program, { kind: "view", view });
    const elapsed = performance.now() - started;
    const key = g.groupKey(program);
    if (!key || key.epoch !== heldEpoch + 1) throw new Error(`member cost: the view did not bring the group key of epoch ${heldEpoch + 1}`);
    key.key.fill(0);
    const after = g.heldKeys(program);
    const forwards = entries.filter((e) => e.kind === "forward" && before.get(at(e)) === e.from).length;
    const changed = after.filter((k) => before.get(at(k)) !== k.version).length;
    counts = { unwraps: changed - forwards, forwards, heldKeys: after.length, epoch: key.epoch };
    for (const k of after) k.key.fill(0);
    g.forget(program);
    if (s > 0) ms.push(elapsed);
  }
  return {
    case: label,
    viewBytes: view.length,
    entries: entries.length,
    ...counts,
    signatureChecks: 1,
    proofHashes: decoded.items.reduce((n, i) => n + 1 + i.proof.length, 0),
    ms,
  };
}
