/** SHA-2 digests (FIPS 180-4) through WebCrypto. */
import { checkBytes } from "./check";

export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  checkBytes("data", data);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

export async function sha384(data: Uint8Array): Promise<Uint8Array> {
  checkBytes("data", data);
  return new Uint8Array(await crypto.subtle.digest("SHA-384", data));
}
