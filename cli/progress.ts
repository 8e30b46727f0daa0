/**
 * Progress of long work on stderr: a redrawn bar with rate and ETA on a terminal, a plain
 * line every few seconds otherwise (logs, CI), nothing when quiet.
 */
export class Progress {
  private readonly started = Date.now();
  private readonly tty: boolean;
  private lastPlain = 0;
  private done = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly quiet = false,
    private readonly plainEveryMs = 5_000,
  ) {
    this.tty = Boolean(process.stderr.isTTY);
  }

  /** `done` counts everything finished, including work skipped because an earlier run did it. */
  update(done: number, skipped = 0): void {
    this.done = done;
    if (this.quiet) return;
    if (this.tty) {
      process.stderr.write(`\r${this.render(skipped)}\x1b[K`);
    } else if (Date.now() - this.lastPlain >= this.plainEveryMs || done === this.total) {
      this.lastPlain = Date.now();
      process.stderr.write(`${this.render(skipped)}\n`);
    }
  }

  finish(): void {
    if (!this.quiet && this.tty) process.stderr.write("\n");
  }

  /** Rate counts only this run's work: skipped items took no time. */
  render(skipped: number): string {
    const seconds = Math.max((Date.now() - this.started) / 1000, 0.001);
    const rate = (this.done - skipped) / seconds;
    const left = this.total - this.done;
    const eta = rate > 0 ? formatDuration(left / rate) : "?";
    const ratio = this.total === 0 ? 1 : this.done / this.total;
    const width = 30;
    const filled = Math.round(ratio * width);
    const bar = this.tty ? `[${"#".repeat(filled)}${".".repeat(width - filled)}] ` : "";
    return `${this.label} ${bar}${this.done}/${this.total} (${(ratio * 100).toFixed(1)}%) ${rate.toFixed(0)}/s ETA ${eta}`;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
