/**
 * Exit codes a script can test (docs/cli.md). Kept few and stable: what went wrong decides the
 * code, the API's error code (printed) says exactly what.
 */
export const EXIT = {
  ok: 0,
  /** The API answered with a refusal (4xx but 401): validation, not found, conflict, forbidden, bulk_invalid... */
  refused: 1,
  /** The command line, a local file, or the token file is wrong; nothing was sent. */
  usage: 2,
  /** No working gridkey to talk to: connection failed or timed out, 401 (bad token), or a 5xx. */
  unavailable: 3,
  /** The audit chain failed verification. */
  verifyFailed: 4,
  /** Interrupted (Ctrl-C); long work resumes when run again. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Every failure the CLI reports: a stable code, a message for people, and the exit code. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: ExitCode,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError("usage", message, EXIT.usage);
