/** Real Brazilian document and code checks, so the sandbox rejects what the providers reject. */

export function onlyDigits(value: string): string {
  return value.replace(/\D/g, '');
}

/** CPF: 11 digits, two mod-11 check digits, not all digits equal. Accepts `123.456.789-09` masks. */
export function isValidCpf(value: string): boolean {
  const d = onlyDigits(value);
  if (!/^\d{11}$/.test(value.replace(/[.-]/g, '')) || d.length !== 11 || /^(\d)\1{10}$/.test(d)) return false;
  for (const len of [9, 10]) {
    let sum = 0;
    for (let i = 0; i < len; i++) sum += Number(d[i]) * (len + 1 - i);
    const dv = ((sum * 10) % 11) % 10;
    if (dv !== Number(d[len])) return false;
  }
  return true;
}

/** CNPJ: 14 digits, two mod-11 check digits with weights 5..2,9..2 / 6..2,9..2. Accepts masks. */
export function isValidCnpj(value: string): boolean {
  const d = onlyDigits(value);
  if (!/^\d{14}$/.test(value.replace(/[./-]/g, '')) || d.length !== 14 || /^(\d)\1{13}$/.test(d)) return false;
  const calc = (len: number): number => {
    const weights = len === 12 ? [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2] : [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    let sum = 0;
    for (let i = 0; i < len; i++) sum += Number(d[i]) * (weights[i] ?? 0);
    const r = sum % 11;
    return r < 2 ? 0 : 11 - r;
  };
  return calc(12) === Number(d[12]) && calc(13) === Number(d[13]);
}

export function isValidCpfOrCnpj(value: string): boolean {
  return isValidCpf(value) || isValidCnpj(value);
}

/** CEP: exactly 8 digits; the display mask `01310-100` is accepted and stripped. */
export function normalizeCep(value: string): string | null {
  return /^\d{5}-?\d{3}$/.test(value) ? value.replace('-', '') : null;
}

/** `YYYY-MM-DD` that is a real calendar date. */
export function isIsoDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00.000Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** Money in reais with at most two decimals (Asaas `value`, Nuvem Fiscal `valor`). */
export function hasAtMostTwoDecimals(value: number): boolean {
  return Math.abs(Math.round(value * 100) - value * 100) < 1e-6;
}

/** Mod-11 check digit of an NF-e access key (weights 2..9 from the right). */
export function nfeKeyCheckDigit(first43: string): number {
  let sum = 0;
  let weight = 2;
  for (let i = first43.length - 1; i >= 0; i--) {
    sum += Number(first43[i]) * weight;
    weight = weight === 9 ? 2 : weight + 1;
  }
  const r = sum % 11;
  return r < 2 ? 0 : 11 - r;
}

/** NF-e access key: 44 digits, model 55 or 65 at positions 21-22, valid check digit. */
export function isValidNfeKey(value: string): boolean {
  if (!/^\d{44}$/.test(value)) return false;
  return nfeKeyCheckDigit(value.slice(0, 43)) === Number(value[43]);
}

/** UPU S10 check digit of an 8-digit serial (Correios tracking codes `AA12345678?BR`). */
export function s10CheckDigit(serial8: string): number {
  const weights = [8, 6, 4, 2, 3, 5, 9, 7];
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += Number(serial8[i]) * (weights[i] ?? 0);
  const dv = 11 - (sum % 11);
  return dv === 10 ? 0 : dv === 11 ? 5 : dv;
}

export function isValidTrackingCode(value: string): boolean {
  const m = /^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$/.exec(value);
  if (!m) return false;
  return s10CheckDigit(m[2] ?? '') === Number(m[3]);
}

/** A credential value the sandbox accepts: 8-200 printable ASCII characters. */
export function isWellFormedCredential(value: unknown): value is string {
  return typeof value === 'string' && /^[\x20-\x7E]{8,200}$/.test(value);
}

export function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Rounds reais to cents without binary-float drift (0.1 + 0.2 → 0.3). */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
