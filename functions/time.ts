/** Stored times are epoch milliseconds; the API speaks ISO 8601 (UTC). */
export function iso(t: number): string;
export function iso(t: number | null): string | null;
export function iso(t: number | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}
