/** Runs `task` over `items` with at most `concurrency` in flight; a task's failure is its own to handle. */
export async function forEachLimited<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Runs `step` in `concurrency` loops until `deadline` (performance.now() ms). */
export async function loopUntil(deadline: number, concurrency: number, step: () => Promise<void>): Promise<void> {
  const worker = async () => {
    while (performance.now() < deadline) await step();
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export function pick<T>(items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(Math.random() * items.length)];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
