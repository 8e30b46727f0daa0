import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** Cases per fuzz property (`npm run fuzz -- --runs N`); empty: each file's CI default. */
      FUZZ_RUNS: string;
      /** A fast-check seed to replay a run; empty: a fresh seed. */
      FUZZ_SEED: string;
    }
  }
}
