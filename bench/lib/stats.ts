/** The statistics the bench reports: medians with min/max over runs, nearest-rank percentiles. */

/** A figure measured over several runs: the median, the extremes, every run's value, a unit. */
export type Figure = { median: number; min: number; max: number; runs: number[]; unit: string };

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100); NaN for no samples. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function figure(runs: readonly number[], unit: string): Figure {
  const finite = runs.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, runs: [...runs], unit };
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), runs: [...runs], unit };
}

/** Per-run ratios a[i]/b[i] (same run), then their median and extremes. */
export function ratioFigure(a: readonly number[], b: readonly number[]): Figure {
  return figure(
    a.map((v, i) => v / b[i]!),
    "ratio",
  );
}

/** A compact human number: 3 significant digits, thousands without exponent. */
export function fmt(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  const abs = Math.abs(v);
  if (abs >= 10 ** digits) return Math.round(v).toLocaleString("en-US");
  return Number(v.toPrecision(digits)).toString();
}

/** "median [min–max] unit" */
export function fmtFigure(f: Figure, unit = f.unit): string {
  const u = unit && unit !== "ratio" ? ` ${unit}` : "";
  if (!Number.isFinite(f.median)) return "–";
  if (f.runs.length <= 1 || f.min === f.max) return `${fmt(f.median)}${u}`;
  return `${fmt(f.median)} [${fmt(f.min)}–${fmt(f.max)}]${u}`;
}
