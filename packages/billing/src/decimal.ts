/**
 * Exact decimal arithmetic for money: a value is `units / 10^scale` with `units` a BigInt, so
 * nothing ever passes through a binary float. Plan prices arrive as JSON numbers; they are turned
 * into decimals through their shortest round-trip string (`String(0.05)` is "0.05"), which is the
 * value the operator typed.
 */
export interface Decimal {
  units: bigint;
  scale: number;
}

const DECIMAL_RE = /^([+-])?(\d+)(?:\.(\d*))?(?:e([+-]?\d+))?$/i;

export class DecimalError extends Error {
  readonly code = 'invalid_decimal';
  constructor(message: string) {
    super(message);
    this.name = 'DecimalError';
  }
}

/** Parses "12.50", "-0.005", "1e-7" or a finite JS number (via its shortest string form). */
export function parseDecimal(value: string | number | bigint): Decimal {
  if (typeof value === 'bigint') return { units: value, scale: 0 };
  if (typeof value === 'number' && !Number.isFinite(value)) throw new DecimalError(`not a finite number: ${value}`);
  const m = DECIMAL_RE.exec(String(value).trim());
  if (!m) throw new DecimalError(`not a decimal: ${JSON.stringify(value)}`);
  const [, sign, int, frac = '', exp] = m;
  let units = BigInt(int! + frac);
  let scale = frac.length - (exp ? Number(exp) : 0);
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units: sign === '-' ? -units : units, scale };
}

function rescale(d: Decimal, scale: number): bigint {
  return d.units * 10n ** BigInt(scale - d.scale);
}

export function add(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: rescale(a, scale) + rescale(b, scale), scale };
}

export function multiply(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/** Divides by 10^n exactly (e.g. tokens → thousands of tokens). */
export function shiftLeft(d: Decimal, n: number): Decimal {
  return { units: d.units, scale: d.scale + n };
}

/** Rounds half away from zero ("half-up" on magnitudes) to `places` decimal places. */
export function round(d: Decimal, places: number): Decimal {
  if (d.scale <= places) return { units: rescale(d, places), scale: places };
  const div = 10n ** BigInt(d.scale - places);
  const neg = d.units < 0n;
  const abs = neg ? -d.units : d.units;
  let q = abs / div;
  if ((abs % div) * 2n >= div) q += 1n;
  return { units: neg ? -q : q, scale: places };
}

/** Fixed notation with at least `minPlaces` places; trailing zeros beyond that are dropped. */
export function formatDecimal(d: Decimal, minPlaces = 0): string {
  let { units, scale } = d;
  while (scale > minPlaces && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  if (scale < minPlaces) {
    units *= 10n ** BigInt(minPlaces - scale);
    scale = minPlaces;
  }
  const neg = units < 0n;
  const digits = (neg ? -units : units).toString().padStart(scale + 1, '0');
  const body = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return neg ? `-${body}` : body;
}

/** Money as API.md wants it: exactly two places, "12.50". */
export function formatMoney(d: Decimal): string {
  const r = round(d, 2);
  return formatDecimal(r, 2);
}

export function isZero(d: Decimal): boolean {
  return d.units === 0n;
}

export function compare(a: Decimal, b: Decimal): number {
  const scale = Math.max(a.scale, b.scale);
  const x = rescale(a, scale);
  const y = rescale(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}
