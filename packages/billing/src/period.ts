/** Billing periods are calendar months in UTC, written "YYYY-MM". */
export const PERIOD_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function periodOf(at: Date): string {
  return `${at.getUTCFullYear()}-${String(at.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** [start, end) of a period as UTC instants. */
export function periodBounds(period: string): { start: Date; end: Date } {
  const m = PERIOD_RE.exec(period);
  if (!m) throw new Error(`not a period (YYYY-MM): ${period}`);
  const y = Number(m[1]);
  const mo = Number(m[2]) - 1;
  return { start: new Date(Date.UTC(y, mo, 1)), end: new Date(Date.UTC(y, mo + 1, 1)) };
}

export function previousPeriod(period: string): string {
  const { start } = periodBounds(period);
  return periodOf(new Date(start.getTime() - 1));
}

const HOUR_MS = 3_600_000;

export function floorHour(d: Date): Date {
  return new Date(Math.floor(d.getTime() / HOUR_MS) * HOUR_MS);
}

export function ceilHour(d: Date): Date {
  return new Date(Math.ceil(d.getTime() / HOUR_MS) * HOUR_MS);
}
