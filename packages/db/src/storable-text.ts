/**
 * Text Postgres cannot store, made storable. A `jsonb` or `text` value cannot hold U+0000, and a
 * UTF-16 surrogate without its pair has no UTF-8 encoding (pg would send it as U+FFFD in a text
 * parameter, but `jsonb` parses `\ud800` from JSON text and refuses it). Model replies, provider
 * results and inbound hook payloads are outside our control, so everything checkpointed or recorded
 * from them passes through here first: U+0000 and lone surrogates become U+FFFD (the replacement
 * character, what a UTF-8 decoder writes for bytes it cannot read), everything else is unchanged.
 */

// A lone high surrogate (not followed by a low one), a lone low surrogate (not preceded by a high one), or NUL.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The string with U+0000 and lone surrogates replaced by U+FFFD. */
export function storableText(s: string): string {
  return s.replace(UNSTORABLE, '\ufffd');
}

/** True when `s` holds nothing Postgres would refuse. */
export function isStorableText(s: string): boolean {
  UNSTORABLE.lastIndex = 0;
  const found = UNSTORABLE.test(s);
  UNSTORABLE.lastIndex = 0;
  return !found;
}

/**
 * A deep copy of a JSON-like value with every string (object keys included) made storable. Values
 * that need no change are returned as they are (same object), so the common case allocates nothing.
 */
export function storableJson<T>(value: T): T {
  return fix(value, 0) as T;
}

function fix(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return isStorableText(v) ? v : storableText(v);
  if (v === null || typeof v !== 'object' || depth > 512) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const f = fix(v[i], depth + 1);
      if (f !== v[i]) (out ??= v.slice())[i] = f;
    }
    return out ?? v;
  }
  if (v instanceof Date) return v;
  let out: Record<string, unknown> | undefined;
  const src = v as Record<string, unknown>;
  for (const k of Object.keys(src)) {
    const fk = isStorableText(k) ? k : storableText(k);
    const f = fix(src[k], depth + 1);
    if (fk !== k || f !== src[k]) {
      out ??= { ...src };
      if (fk !== k) delete out[k];
      out[fk] = f;
    }
  }
  return out ?? v;
}
