/**
 * Job payloads are ids only by design (packages/queue catalog), but Bull Board shows whatever a
 * queue holds, so anything secret-looking is masked before it reaches an operator's browser.
 */
const SECRET_KEY = /(secret|passw(or)?d|token|api[_-]?key|authori[sz]ation|credential|cookie|private|^key$|^values$)/i;

export const REDACTED = '[redacted]';

/** A deep copy with the value of every secret-looking key replaced; depth-capped against cycles. */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_KEY.test(k) ? REDACTED : redactSecrets(v, depth + 1);
    }
    return out;
  }
  // Strings shaped like our own keys never show, whatever field they sit in.
  if (typeof value === 'string' && /\b((ak|csk)_(test|live)_[A-Za-z0-9]{8,}|whsec_[A-Za-z0-9+/=]{8,}|sk_(test|live)_[A-Za-z0-9]{8,})/.test(value))
    return REDACTED;
  return value;
}
