import { SdkError } from "../../sdk";

/** The SdkError code `f` throws, or undefined when it does not throw. */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof SdkError ? e.code : `not an SdkError: ${String(e)}`;
  }
  return undefined;
}
