/**
 * DR commands, sealed and signed by the service and opened by members: the one place the
 * load scenario touches the command format (the API's `signed` answer, which the SDK's
 * openCommand verifies against the trust anchor before opening the APDU in it).
 */
import { bytesToHex, hexToBytes, randomBytes } from "@noble/hashes/utils.js";
import type { MeterClient } from "../../sdk/index.js";
import type { AdminApi } from "./admin.js";

export type SealedCommand = { program: string; epoch: number; sealed: Uint8Array; plaintext: string };

/** Asks the service to seal a fresh command (an xDLMS APDU, random payload) for a program's members. */
export async function sealCommand(api: AdminApi, program: string): Promise<SealedCommand> {
  // A set-request-normal shape with a random value: each command is distinct.
  const plaintext = `c10100000800000100ff0200${bytesToHex(randomBytes(4))}`;
  const body = await api.post(`/programs/${program}/commands`, { command: plaintext });
  return { program, epoch: Number(body.epoch), sealed: hexToBytes(String(body.signed)), plaintext };
}

/** Opens the command with the group key the meter holds; true when it is the command sealed. */
export function opensCommand(client: MeterClient, command: SealedCommand): boolean {
  return bytesToHex(client.openCommand(command.program, command.sealed)) === command.plaintext;
}
