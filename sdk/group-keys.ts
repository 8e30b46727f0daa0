/**
 * A meter's keys in DR-program key graphs (docs/groups.md): for each program, the keys on
 * its leaf-to-root path, the root being the program's group key. Updates come as a view of
 * one epoch (the signed bundle header and this meter's entries with Merkle proofs) or a
 * signed snapshot of the whole path; nothing unsigned or unproven is ever applied.
 */
import { aeskw } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { WireError } from "../wire/axdr.js";
import { verifyInclusion } from "../wire/merkle.js";
import {
  decodeEntry,
  decodeHeader,
  decodeCommandPayload,
  decodeMemberView,
  decodeSnapshot,
  type MemberView,
  DR_AK_LABEL,
  DR_COMMAND_SC,
  forwardInfo,
  NODE_KEY_BYTES,
  type RekeyEntry,
  type WrapEntry,
} from "../wire/rekey.js";
import { CborError, decode } from "../edhoc/cbor.js";
import { COVER_BUNDLE_TAG, COVER_SNAPSHOT_TAG, coverForwardInfo, coversLeaf, decodeCoverEntry, decodeCoverHeader, decodeCoverSnapshot, payloadTag } from "../wire/cover.js";
import { verifyCentralSignature, type TrustAnchor } from "./credential-cache.js";
import { openGloCipheringApdu } from "./dlms.js";
import { SdkError } from "./errors.js";

type Held = { version: number; key: Uint8Array };
type TreeState = { kind: "tree"; epoch: number; height: number; degree: number; leaf: number; keys: Map<string, Held> };
/** A cover-keyed program: one key, reached through the meter's region tree. */
type CoverState = { kind: "cover"; epoch: number; key: Held };
type ProgramState = TreeState | CoverState;

/** What the server answers to a `rekey` request. */
export type RekeyUpdate = { kind: "current" } | { kind: "view"; view: Uint8Array } | { kind: "snapshot"; signed: Uint8Array };

const at = (level: number, index: number) => `${level}/${index}`;

export class GroupKeys {
  private readonly programs = new Map<string, ProgramState>();
  private readonly commandCounters = new Map<string, number>();

  constructor(
    private readonly anchor: TrustAnchor,
    /** The meter's KEKs, current first: snapshots wrap the leaf key under the current one. */
    private readonly keks: () => readonly Uint8Array[],
    /** The meter's region: its tree (`region:<region>`) carries cover-keyed programs. */
    private readonly region?: string,
  ) {}

  /** The key graph of the meter's region, held like a program. */
  get regionTree(): string | undefined {
    return this.region === undefined ? undefined : `region:${this.region}`;
  }

  /**
   * The leaf a concentrator needs to cut this meter's part of a bundle from its cache: in the
   * program's tree, or for a cover-keyed program in the region's tree.
   */
  leafOf(program: string): number | undefined {
    const s = this.programs.get(program);
    if (s?.kind === "cover") return this.regionTree === undefined ? undefined : this.leafOf(this.regionTree);
    return s?.leaf;
  }

  isCover(program: string): boolean {
    return this.programs.get(program)?.kind === "cover";
  }

  /** How many keys this meter stores for all its programs and its region tree together. */
  storedKeyCount(): number {
    return [...this.programs.values()].reduce((n, s) => n + (s.kind === "cover" ? 1 : s.keys.size), 0);
  }

  /** The epoch held for a program; 0 when none (the server then sends a snapshot). */
  epochOf(program: string): number {
    return this.programs.get(program)?.epoch ?? 0;
  }

  /** The program's group key (the root of its tree) at the epoch held. */
  groupKey(program: string): { epoch: number; key: Uint8Array } | undefined {
    const s = this.programs.get(program);
    const key = s && currentKey(s);
    return s && key ? { epoch: s.epoch, key: key.key.slice() } : undefined;
  }

  /** Every key held for a tree-keyed program, for the meter's own storage (and tests); a cover-keyed one's single key is its `groupKey`. */
  heldKeys(program: string): { level: number; index: number; version: number; key: Uint8Array }[] {
    const s = this.programs.get(program);
    if (!s || s.kind === "cover") return [];
    return [...s.keys].map(([k, v]) => {
      const [level, index] = k.split("/").map(Number) as [number, number];
      return { level, index, version: v.version, key: v.key.slice() };
    });
  }

  /** Applies what the server sent, once its signature (and every entry's proof) checks out. */
  apply(program: string, update: RekeyUpdate): void {
    if (update.kind === "snapshot") {
      const payload = verifyCentralSignature(update.signed, this.anchor);
      if (wire(() => payloadTag(payload)) === COVER_SNAPSHOT_TAG) this.applyCoverSnapshot(program, payload);
      else this.applySnapshot(program, payload);
    } else if (update.kind === "view") {
      const view = wire(() => decodeMemberView(decode(update.view)));
      const header = verifyCentralSignature(view.signedHeader, this.anchor);
      if (wire(() => payloadTag(header)) === COVER_BUNDLE_TAG) this.applyCoverView(program, view, header);
      else this.applyView(program, view, header);
    }
  }

  /**
   * Opens a DR command: central's signature over it first (a member holds the group key too,
   * so only the signature shows the command is the utility's), then the APDU under the
   * program's group key (wire/rekey.ts), refusing a replayed or reordered invocation counter.
   * A failure to open may mean a newer group key: rekey and try again.
   */
  openCommand(program: string, signed: Uint8Array): Uint8Array {
    let payload;
    try {
      payload = decodeCommandPayload(verifyCentralSignature(signed, this.anchor));
    } catch (e) {
      if (e instanceof SdkError || e instanceof WireError || e instanceof CborError) throw new SdkError("command_untrusted", "the DR command is not signed by the trust anchor", { cause: e });
      throw e;
    }
    if (payload.program !== program) throw new SdkError("command_untrusted", "the DR command was signed for another program");
    const apdu = payload.apdu;
    const s = this.programs.get(program);
    const root = s && currentKey(s);
    if (!s || !root) throw new SdkError("rekey_incomplete", "no group key held for this program");
    const ak = hmac(sha256, root.key, new TextEncoder().encode(DR_AK_LABEL)).slice(0, NODE_KEY_BYTES);
    let opened;
    try {
      opened = openGloCipheringApdu(apdu, { ek: root.key, ak });
    } catch (e) {
      if (e instanceof SdkError) throw e;
      throw new SdkError("decryption_failed", "the command does not open under the group key held");
    }
    if (opened.header.securityControl !== DR_COMMAND_SC || !sameBytes(opened.header.systemTitle, sha256(new TextEncoder().encode(program)).slice(0, 8))) {
      throw new SdkError("bad_apdu", "not a DR command of this program");
    }
    const last = this.commandCounters.get(`${program}@${s.epoch}`) ?? 0;
    if (opened.header.invocationCounter <= last) throw new SdkError("replayed_command", "this command's invocation counter was already seen");
    this.commandCounters.set(`${program}@${s.epoch}`, opened.header.invocationCounter);
    return opened.plaintext;
  }

  forget(program: string): void {
    const s = this.programs.get(program);
    for (const held of s?.kind === "cover" ? [s.key] : (s?.keys.values() ?? [])) held.key.fill(0);
    this.programs.delete(program);
  }

  private applySnapshot(program: string, payload: Uint8Array): void {
    const s = wire(() => decodeSnapshot(payload));
    if (s.program !== program) throw new SdkError("rekey_invalid", "the snapshot is for another program");
    const leafKey = this.unwrapUnderKek(s.leafWrapped);
    const keys = new Map<string, Held>([[at(0, s.leaf.index), { version: s.leaf.version, key: leafKey }]]);
    for (const p of s.path) {
      if (p.node.index !== Math.floor(s.leaf.index / s.degree ** p.node.level)) throw new SdkError("rekey_invalid", "a snapshot entry is not on this meter's path");
      keys.set(at(p.node.level, p.node.index), { version: p.node.version, key: unwrapOrThrow(leafKey, p.wrapped) });
    }
    this.forget(program);
    this.programs.set(program, { kind: "tree", epoch: s.epoch, height: s.height, degree: s.degree, leaf: s.leaf.index, keys });
  }

  private applyCoverSnapshot(program: string, payload: Uint8Array): void {
    const s = wire(() => decodeCoverSnapshot(payload));
    if (s.program !== program) throw new SdkError("rekey_invalid", "the snapshot is for another program");
    const key = this.unwrapUnderKek(s.wrapped);
    this.forget(program);
    this.programs.set(program, { kind: "cover", epoch: s.epoch, key: { version: s.epoch, key } });
  }

  /**
   * One epoch of a cover-keyed program: the key moved forward (a join), or wrapped under a
   * node of this meter's region path (a departure or rotation), which it must hold at that
   * version: a meter behind on its region tree catches up there first.
   */
  private applyCoverView(program: string, view: MemberView, payload: Uint8Array): void {
    const state = this.programs.get(program);
    if (state?.kind !== "cover") throw new SdkError("rekey_out_of_order", "no key held for this cover-keyed program: ask for a snapshot");
    const header = wire(() => decodeCoverHeader(payload));
    if (header.program !== program) throw new SdkError("rekey_invalid", "the bundle is for another program");
    if (header.epoch !== state.epoch + 1) throw new SdkError("rekey_out_of_order", `bundle epoch ${header.epoch} does not follow ${state.epoch}`);
    const region = this.regionTree === undefined ? undefined : this.programs.get(this.regionTree);
    let next: Held | undefined;
    for (const item of view.items) {
      if (!verifyInclusion(sha256, item.entry, item.index, header.entries, item.proof, header.root)) throw new SdkError("rekey_invalid", "a rekey entry fails its inclusion proof");
      const e = wire(() => decodeCoverEntry(item.entry));
      if (e.kind === "cover-forward" && e.from === state.key.version && e.version === header.epoch) {
        next = { version: e.version, key: hmac(sha256, state.key.key, coverForwardInfo(e.version)).slice(0, NODE_KEY_BYTES) };
      } else if (e.kind === "cover-wrap" && e.version === header.epoch && region?.kind === "tree" && e.region === this.region && coversLeaf(e, this.region, region.leaf, header.regionDegree)) {
        const under = region.keys.get(at(e.level, e.index));
        if (under?.version === e.underVersion) next = { version: e.version, key: unwrapOrThrow(under.key, e.wrapped) };
      }
    }
    if (!next) throw new SdkError("rekey_incomplete", "the view left this meter without the new program key");
    state.key.key.fill(0);
    this.programs.set(program, { kind: "cover", epoch: header.epoch, key: next });
  }

  /**
   * One epoch: check the header's signature and every entry's inclusion proof, move held keys
   * forward, then unwrap the new keys bottom-up (each under a key held or just unwrapped).
   */
  private applyView(program: string, view: MemberView, payload: Uint8Array): void {
    const state = this.programs.get(program);
    if (state?.kind !== "tree") throw new SdkError("rekey_out_of_order", "no keys held for this program: ask for a snapshot");
    const header = wire(() => decodeHeader(payload));
    if (header.program !== program || header.degree !== state.degree) throw new SdkError("rekey_invalid", "the bundle is for another program");
    if (header.epoch !== state.epoch + 1) throw new SdkError("rekey_out_of_order", `bundle epoch ${header.epoch} does not follow ${state.epoch}`);
    const entries: RekeyEntry[] = view.items.map((item) => {
      if (!verifyInclusion(sha256, item.entry, item.index, header.entries, item.proof, header.root)) {
        throw new SdkError("rekey_invalid", "a rekey entry fails its inclusion proof");
      }
      return wire(() => decodeEntry(item.entry));
    });
    const keys = new Map(state.keys);
    for (const e of entries) if (e.kind === "forward") moveForward(keys, e);
    const wraps = entries.filter((e): e is WrapEntry => e.kind === "wrap").sort((a, b) => a.node.level - b.node.level);
    for (const w of wraps) {
      const under = keys.get(at(w.under.level, w.under.index));
      if (!under || under.version !== w.under.version) continue; // not for a key this meter holds
      keys.set(at(w.node.level, w.node.index), { version: w.node.version, key: unwrapOrThrow(under.key, w.wrapped) });
    }
    // Every epoch changes the root (a leave refreshes it, a join moves it forward), so the
    // group key of epoch e has version e: anything else means this meter was left out.
    if (keys.get(at(header.height, 0))?.version !== header.epoch) throw new SdkError("rekey_incomplete", "the view left this meter without the new group key");
    this.programs.set(program, { ...state, epoch: header.epoch, height: header.height, keys });
  }

  private unwrapUnderKek(wrapped: Uint8Array): Uint8Array {
    for (const kek of this.keks()) {
      try {
        return aeskw(kek).decrypt(wrapped);
      } catch {
        // try the previous KEK: a snapshot can cross a KEK change
      }
    }
    throw new SdkError("key_unwrap_failed", "the snapshot's leaf key does not unwrap under this meter's KEK");
  }
}

function currentKey(s: ProgramState): Held | undefined {
  return s.kind === "cover" ? s.key : s.keys.get(at(s.height, 0));
}

function moveForward(keys: Map<string, Held>, e: { level: number; index: number; from: number; version: number }): void {
  const held = keys.get(at(e.level, e.index));
  if (!held || held.version !== e.from) return;
  const key = hmac(sha256, held.key, forwardInfo(e.level, e.index, e.version)).slice(0, NODE_KEY_BYTES);
  keys.set(at(e.level, e.index), { version: e.version, key });
}

function unwrapOrThrow(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
  try {
    return aeskw(kek).decrypt(wrapped);
  } catch {
    throw new SdkError("key_unwrap_failed", "a rekey wrap fails its integrity check");
  }
}

function wire<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof WireError || e instanceof CborError) throw new SdkError("rekey_invalid", e.message, { cause: e });
    throw e;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
