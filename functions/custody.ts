import { concat, fromBase64url, fromHex, importAesKey, open, randomBytes, seal, toBase64url } from "./crypto";
import { GridkeyError } from "./errors";

/**
 * Master-key custody. The master key never leaves this module: callers hand it plaintext
 * and get back a sealed blob tagged with the master-key version, or the reverse.
 *
 * Configuration (Worker secrets): MASTER_KEYS = "1:<64 hex>,2:<64 hex>" holds every version
 * still needed to read stored keys; MASTER_KEY_CURRENT names the one that seals new material.
 * Sealed form: base64url(iv(12) || AES-256-GCM ciphertext || tag(16)).
 */
export class Custody {
  private constructor(
    readonly current: number,
    private readonly keys: ReadonlyMap<number, CryptoKey>,
  ) {}

  /** Versions custody holds, ascending. */
  get versions(): number[] {
    return [...this.keys.keys()].sort((a, b) => a - b);
  }

  holds(version: number): boolean {
    return this.keys.has(version);
  }

  async seal(plaintext: Uint8Array, aad: Uint8Array): Promise<{ mkVersion: number; sealed: string }> {
    const iv = randomBytes(12);
    const ct = await seal(this.key(this.current), iv, plaintext, aad);
    return { mkVersion: this.current, sealed: toBase64url(concat(iv, ct)) };
  }

  async open(mkVersion: number, sealed: string, aad: Uint8Array): Promise<Uint8Array> {
    const blob = fromBase64url(sealed);
    return open(this.key(mkVersion), blob.subarray(0, 12), blob.subarray(12), aad);
  }

  private key(version: number): CryptoKey {
    const key = this.keys.get(version);
    if (!key) {
      throw new GridkeyError("master_key_unavailable", `master key version ${version} is not held by custody`);
    }
    return key;
  }

  static async fromConfig(masterKeys: string | undefined, current: string | undefined): Promise<Custody> {
    const raw = parseMasterKeys(masterKeys ?? "");
    const currentVersion = Number(current);
    if (!raw.has(currentVersion)) {
      throw new GridkeyError("master_key_unavailable", "MASTER_KEY_CURRENT does not name a configured master-key version");
    }
    const keys = new Map<number, CryptoKey>();
    for (const [version, bytes] of raw) keys.set(version, await importAesKey(bytes));
    return new Custody(currentVersion, keys);
  }
}

function parseMasterKeys(config: string): Map<number, Uint8Array> {
  const keys = new Map<number, Uint8Array>();
  for (const entry of config.split(",").map((s) => s.trim()).filter(Boolean)) {
    const match = /^(\d{1,6}):([0-9a-fA-F]{64})$/.exec(entry);
    if (!match || keys.has(Number(match[1]))) {
      // The message names the position only: the entry itself may hold key material.
      throw new GridkeyError("master_key_unavailable", "MASTER_KEYS is malformed (expected version:64-hex-digits, comma separated)");
    }
    keys.set(Number(match[1]), fromHex(match[2]!));
  }
  if (keys.size === 0) throw new GridkeyError("master_key_unavailable", "MASTER_KEYS is not configured");
  return keys;
}

// Importing keys costs a little on every request; the secret only changes on redeploy.
let cached: { config: string; custody: Promise<Custody> } | undefined;

export function custodyFor(env: Pick<Env, "MASTER_KEYS" | "MASTER_KEY_CURRENT">): Promise<Custody> {
  const config = `${env.MASTER_KEY_CURRENT}|${env.MASTER_KEYS}`;
  if (cached?.config !== config) {
    const custody = Custody.fromConfig(env.MASTER_KEYS, env.MASTER_KEY_CURRENT);
    cached = { config, custody };
    custody.catch(() => (cached = undefined));
  }
  return cached.custody;
}
