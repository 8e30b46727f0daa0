/**
 * A small hand-written SVG line chart (no plotting dependency): series of points with
 * min–max error bars, optional horizontal reference lines, linear or logarithmic axes.
 * Used for throughput vs concurrency and for the rekey plots (wraps, bytes and time vs n).
 */

export type Point = { x: number; y: number; yMin?: number; yMax?: number };
export type Series = { name: string; points: Point[]; color?: string; dashed?: boolean };
export type RefLine = { y: number; label: string; color?: string };
export type Chart = {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  /** Logarithmic axes (base 2 for x, base 10 for y). */
  xLog?: boolean;
  yLog?: boolean;
  /** Tick base of a logarithmic x axis (default 2). */
  xBase?: 2 | 10;
  series: Series[];
  refLines?: RefLine[];
  width?: number;
  height?: number;
};

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const num = (v: number) => (Math.round(v * 10) / 10).toString();

function label(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

/** Tick values: powers of 2 (log x), 1-2-5 per decade (log y), or ~6 round steps (linear). */
function ticks(lo: number, hi: number, log: boolean, base: 2 | 10): number[] {
  if (log) {
    const out: number[] = [];
    const steps = base === 10 ? [1, 2, 5] : [1];
    for (let e = Math.floor(Math.log(lo) / Math.log(base)); e <= Math.ceil(Math.log(hi) / Math.log(base)); e++) {
      for (const s of steps) {
        const v = s * base ** e;
        if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
      }
    }
    return out;
  }
  const raw = (hi - lo) / 6;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}

export function lineChart(c: Chart): string {
  const W = c.width ?? 720;
  const H = c.height ?? 440;
  const m = { left: 78, right: 24, top: c.subtitle ? 62 : 44, bottom: 92 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const pts = c.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y) && (!c.yLog || p.y > 0));
  const xs = pts.map((p) => p.x);
  const ys = [...pts.flatMap((p) => [p.y, p.yMin ?? p.y, p.yMax ?? p.y]), ...(c.refLines ?? []).map((r) => r.y)].filter((v) => Number.isFinite(v) && (!c.yLog || v > 0));
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  if (!(x1 > x0)) [x0, x1] = c.xLog ? [x0 / 2, x0 * 2] : [x0 - 1, x0 + 1];
  // A little room so that the first and last points do not sit on the frame.
  [x0, x1] = c.xLog ? [x0 / 2 ** ((Math.log2(x1 / x0) || 1) * 0.06), x1 * 2 ** ((Math.log2(x1 / x0) || 1) * 0.06)] : [x0 - (x1 - x0) * 0.05, x1 + (x1 - x0) * 0.05];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (c.yLog) {
    y0 = 10 ** Math.floor(Math.log10(y0));
    y1 = 10 ** Math.ceil(Math.log10(y1));
  } else {
    y0 = 0;
    y1 = y1 * 1.1 || 1;
  }
  if (!Number.isFinite(y0) || !Number.isFinite(y1)) [y0, y1] = [c.yLog ? 1 : 0, 10];
  const sx = (x: number) => m.left + (c.xLog ? Math.log2(x / x0) / Math.log2(x1 / x0) : (x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ph - (c.yLog ? Math.log10(y / y0) / Math.log10(y1 / y0) : (y - y0) / (y1 - y0)) * ph;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(c.title)}</text>`);
  if (c.subtitle) out.push(`<text x="${W / 2}" y="40" text-anchor="middle" fill="#555">${esc(c.subtitle)}</text>`);
  // Grid and ticks.
  for (const t of ticks(y0, y1, !!c.yLog, 10)) {
    const y = num(sy(t));
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${label(t)}</text>`);
  }
  for (const t of ticks(x0, x1, !!c.xLog, c.xBase ?? 2)) {
    const x = num(sx(t));
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 18}" text-anchor="middle">${label(t)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${m.top + ph + 40}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`);
  // Reference lines.
  (c.refLines ?? []).forEach((r) => {
    if (!Number.isFinite(r.y) || (c.yLog && r.y <= 0)) return;
    const y = num(sy(r.y));
    const color = r.color ?? "#777";
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="${color}" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${m.left + pw - 6}" y="${num(sy(r.y) - 6)}" text-anchor="end" fill="${color}">${esc(r.label)}</text>`);
  });
  // Series: error bars, line, points.
  c.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const ok = s.points.filter((p) => Number.isFinite(p.y) && (!c.yLog || p.y > 0)).sort((a, b) => a.x - b.x);
    for (const p of ok) {
      if (p.yMin === undefined || p.yMax === undefined || (c.yLog && p.yMin <= 0)) continue;
      const x = num(sx(p.x));
      out.push(`<line x1="${x}" y1="${num(sy(p.yMin))}" x2="${x}" y2="${num(sy(p.yMax))}" stroke="${color}" stroke-width="1.5"/>`);
      for (const v of [p.yMin, p.yMax]) out.push(`<line x1="${num(sx(p.x) - 4)}" y1="${num(sy(v))}" x2="${num(sx(p.x) + 4)}" y2="${num(sy(v))}" stroke="${color}" stroke-width="1.5"/>`);
    }
    if (ok.length > 1) {
      const d = ok.map((p, j) => `${j === 0 ? "M" : "L"}${num(sx(p.x))} ${num(sy(p.y))}`).join(" ");
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ` stroke-dasharray="5 3"` : ""}/>`);
    }
    for (const p of ok) out.push(`<circle cx="${num(sx(p.x))}" cy="${num(sy(p.y))}" r="3.5" fill="${color}"><title>${esc(`${s.name}: x=${p.x}, y=${label(p.y)}`)}</title></circle>`);
    // Legend below the axis label.
    const lx = m.left + (i % 3) * (pw / 3);
    const ly = H - 30 + Math.floor(i / 3) * 16;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ` stroke-dasharray="5 3"` : ""}/>`);
    out.push(`<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`);
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
