/**
 * The MLS (RFC 9420, TreeKEM) baseline of the rekey section (bench/sections/rekey.ts), run as a
 * child process of `npm run bench` with this folder's own dependencies (ts-mls 1.6.4, cipher
 * suite 1: MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519), never gridkey's.
 *
 *   node --import tsx bench/mls/mls-bench.ts '<json: {cases: [{n, tree}], samples, budgetSeconds}>'
 *
 * For each case it builds a group of n members in one of two tree states and prints one JSON
 * line per case on stdout:
 *   blank   the creator adds n − 1 members in one commit. ts-mls sends no UpdatePath with an
 *           add-only commit, so every internal node of the tree stays blank: MLS's worst case
 *           (a remove then encrypts to almost every member separately).
 *   filled  each member, right after joining, commits an empty commit (with an UpdatePath) that
 *           the creator processes: every member's direct path gets keys, the steady state that
 *           the textbook O(log n) commit assumes. One join + one commit per member.
 * Then, from the same two states every sample (one warm-up first; above 2,000 members a single
 * sample without warm-up, since each takes tens of seconds) (the creator's and the newest member's, both at
 * the same epoch, so n stays fixed), it times:
 *   remove  the creator's commit removing one member (random leaf), and the member's processing
 *   add     the creator's commit adding one new member, and the member's processing
 * and reports the commits' encoded sizes (PublicMessage framing, so the UpdatePath can be
 * counted: its HPKE ciphertexts are MLS's counterpart of gridkey's wraps) and the Welcome's.
 *
 * Building: every join verifies every leaf signature of the tree (ts-mls validates the whole
 * ratchet tree on join), so building a filled tree verifies O(n²) signatures. The build uses a
 * suite whose signature check remembers results it already computed for the same (key, message,
 * signature): the same answers, computed once. Timed operations use the plain suite.
 */
import { performance } from "node:perf_hooks";
import {
  type ClientState,
  createCommit,
  createGroup,
  type Credential,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  type MLSMessage,
  processPublicMessage,
  type Proposal,
} from "ts-mls";

type CiphersuiteImpl = Awaited<ReturnType<typeof getCiphersuiteImpl>>;
type Case = { n: number; tree: "blank" | "filled" };
type Input = { cases: Case[]; samples: number; budgetSeconds: number };

const SUITE = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519";
const enc = new TextEncoder();
const credential = (name: string): Credential => ({ credentialType: "basic", identity: enc.encode(name) });

async function member(name: string, cs: CiphersuiteImpl) {
  return generateKeyPackage(credential(name), defaultCapabilities(), defaultLifetime, [], cs);
}

/** The same suite, its signature check computed once per distinct (key, message, signature). */
function memoVerify(cs: CiphersuiteImpl): CiphersuiteImpl {
  const seen = new Map<string, Promise<boolean>>();
  const hex = (b: Uint8Array) => Buffer.from(b).toString("base64");
  const verify = cs.signature.verify.bind(cs.signature);
  return {
    ...cs,
    signature: {
      ...cs.signature,
      verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => {
        const k = `${hex(publicKey)}|${hex(signature)}|${hex(message)}`;
        let r = seen.get(k);
        if (!r) {
          r = verify(publicKey, message, signature);
          seen.set(k, r);
        }
        return r;
      },
    },
  };
}

function publicCommit(m: MLSMessage) {
  if (m.wireformat !== "mls_public_message") throw new Error("expected a PublicMessage commit");
  return m.publicMessage;
}

/** HPKE ciphertexts and path nodes in a commit's UpdatePath (0 when it has none). */
function pathOf(m: MLSMessage): { ciphertexts: number; nodes: number } {
  const content = publicCommit(m).content;
  if (content.contentType !== "commit") throw new Error("not a commit");
  const path = content.commit.path;
  return { ciphertexts: path ? path.nodes.reduce((s, node) => s + node.encryptedPathSecret.length, 0) : 0, nodes: path?.nodes.length ?? 0 };
}

/** Internal nodes of the ratchet tree (odd array indices) that hold no key. */
function blankInternal(state: ClientState): { blank: number; internal: number } {
  const tree = state.ratchetTree;
  let blank = 0;
  let internal = 0;
  for (let i = 1; i < tree.length; i += 2) {
    internal++;
    if (tree[i] === undefined || (tree[i] as { nodeType?: string } | undefined)?.nodeType === undefined) blank++;
  }
  return { blank, internal };
}

async function buildBlank(n: number, cs: CiphersuiteImpl, build: CiphersuiteImpl) {
  const creator = await member("m0", cs);
  let a = await createGroup(enc.encode(`bench-${n}`), creator.publicPackage, creator.privatePackage, [], cs);
  const others = [];
  for (let i = 1; i < n; i++) others.push(await member(`m${i}`, cs));
  const proposals: Proposal[] = others.map((o) => ({ proposalType: "add", add: { keyPackage: o.publicPackage } }));
  const result = await createCommit({ state: a, cipherSuite: build }, { extraProposals: proposals, wireAsPublicMessage: true });
  a = result.newState;
  const last = others.at(-1)!;
  const r = await joinGroup(result.welcome!, last.publicPackage, last.privatePackage, emptyPskIndex, build, a.ratchetTree);
  return { a, r };
}

async function buildFilled(n: number, cs: CiphersuiteImpl, build: CiphersuiteImpl, deadline: number) {
  const creator = await member("m0", cs);
  let a = await createGroup(enc.encode(`bench-${n}`), creator.publicPackage, creator.privatePackage, [], cs);
  let r: ClientState | undefined;
  for (let i = 1; i < n; i++) {
    if (performance.now() > deadline) throw new Error(`budget spent after ${i} of ${n} members`);
    const kp = await member(`m${i}`, cs);
    const added = await createCommit({ state: a, cipherSuite: build }, { extraProposals: [{ proposalType: "add", add: { keyPackage: kp.publicPackage } }], wireAsPublicMessage: true });
    a = added.newState;
    const joined = await joinGroup(added.welcome!, kp.publicPackage, kp.privatePackage, emptyPskIndex, build, a.ratchetTree);
    // An empty commit carries an UpdatePath: it fills the new member's direct path.
    const update = await createCommit({ state: joined, cipherSuite: build }, { wireAsPublicMessage: true });
    const processed = await processPublicMessage(a, publicCommit(update.commit), emptyPskIndex, build);
    a = processed.newState;
    r = update.newState;
  }
  return { a, r: r! };
}

async function timeCase(c: Case, samples: number, cs: CiphersuiteImpl, deadline: number) {
  const build = memoVerify(cs);
  const t0 = performance.now();
  const { a, r } = c.tree === "blank" ? await buildBlank(c.n, cs, build) : await buildFilled(c.n, cs, build, deadline);
  const buildSeconds = (performance.now() - t0) / 1000;
  if (a.groupContext.epoch !== r.groupContext.epoch) throw new Error("creator and member are not at the same epoch");
  // Above 2,000 members one sample takes tens of seconds: one sample, no warm-up.
  const big = c.n > 2000;
  const warmup = big ? 0 : 1;
  const count = big ? 1 : samples;
  const tree = blankInternal(a);
  const out = {
    n: c.n,
    tree: c.tree,
    buildSeconds,
    samples: count,
    warmup,
    blankInternalNodes: tree.blank,
    internalNodes: tree.internal,
    remove: { createMs: [] as number[], processMs: [] as number[], bytes: [] as number[], ciphertexts: [] as number[], pathNodes: [] as number[] },
    add: { createMs: [] as number[], processMs: [] as number[], bytes: [] as number[], welcomeBytes: [] as number[], ciphertexts: [] as number[] },
  };
  const rLeaf = r.privatePath.leafIndex;
  for (let s = 0; s < count + warmup; s++) {
    // remove: a random member other than the creator (leaf 0) and the receiver
    let victim = 1 + Math.floor(Math.random() * (c.n - 1));
    if (victim === rLeaf) victim = victim === 1 ? 2 : victim - 1;
    let t = performance.now();
    const removal = await createCommit({ state: a, cipherSuite: cs }, { extraProposals: [{ proposalType: "remove", remove: { removed: victim } }], wireAsPublicMessage: true });
    const createMs = performance.now() - t;
    t = performance.now();
    const processed = await processPublicMessage(r, publicCommit(removal.commit), emptyPskIndex, cs);
    const processMs = performance.now() - t;
    if (processed.newState.groupContext.epoch !== removal.newState.groupContext.epoch) throw new Error("the member did not follow the remove");
    // add: one fresh member
    const kp = await member(`x${s}`, cs);
    t = performance.now();
    const addition = await createCommit({ state: a, cipherSuite: cs }, { extraProposals: [{ proposalType: "add", add: { keyPackage: kp.publicPackage } }], wireAsPublicMessage: true });
    const addCreateMs = performance.now() - t;
    t = performance.now();
    const addProcessed = await processPublicMessage(r, publicCommit(addition.commit), emptyPskIndex, cs);
    const addProcessMs = performance.now() - t;
    if (addProcessed.newState.groupContext.epoch !== addition.newState.groupContext.epoch) throw new Error("the member did not follow the add");
    if (s < warmup) continue;
    const p = pathOf(removal.commit);
    out.remove.createMs.push(createMs);
    out.remove.processMs.push(processMs);
    out.remove.bytes.push(encodeMlsMessage(removal.commit).length);
    out.remove.ciphertexts.push(p.ciphertexts);
    out.remove.pathNodes.push(p.nodes);
    out.add.createMs.push(addCreateMs);
    out.add.processMs.push(addProcessMs);
    out.add.bytes.push(encodeMlsMessage(addition.commit).length);
    out.add.welcomeBytes.push(encodeMlsMessage({ welcome: addition.welcome!, wireformat: "mls_welcome", version: "mls10" }).length);
    out.add.ciphertexts.push(pathOf(addition.commit).ciphertexts);
  }
  return out;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? "{}") as Input;
  const cs = await getCiphersuiteImpl(getCiphersuiteFromName(SUITE));
  const deadline = performance.now() + input.budgetSeconds * 1000;
  for (const c of input.cases) {
    if (performance.now() > deadline) {
      process.stdout.write(`${JSON.stringify({ n: c.n, tree: c.tree, skipped: "the run's MLS budget was spent before this case" })}\n`);
      continue;
    }
    try {
      process.stdout.write(`${JSON.stringify(await timeCase(c, input.samples, cs, deadline))}\n`);
    } catch (e) {
      process.stdout.write(`${JSON.stringify({ n: c.n, tree: c.tree, skipped: e instanceof Error ? e.message : String(e) })}\n`);
    }
  }
}

await main();
