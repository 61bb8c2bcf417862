/**
 * `{{steps.0.data.id}}`-style references inside workflow step arguments (API.md "Jobs"), and
 * `{{event.amount}}` for automations. A string that is exactly one reference takes the referenced
 * value as is (numbers stay numbers); references inside longer strings are interpolated as text.
 */
const WHOLE = /^\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}$/;
const INLINE = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

export class TemplateReferenceError extends Error {
  readonly code = 'invalid_reference';
}

function lookup(path: string, context: Record<string, unknown>): unknown {
  let cur: unknown = context;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined) return undefined;
    // Own properties only: a reference can never reach a prototype (`__proto__`, `constructor`).
    if (typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function resolveReferences(value: unknown, context: Record<string, unknown>): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) {
      const v = lookup(whole[1]!, context);
      if (v === undefined) throw new TemplateReferenceError(`reference {{${whole[1]}}} does not resolve`);
      return v;
    }
    return value.replace(INLINE, (_m, path: string) => {
      const v = lookup(path, context);
      if (v === undefined) throw new TemplateReferenceError(`reference {{${path}}} does not resolve`);
      return typeof v === 'string' ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, context));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveReferences(v, context);
    return out;
  }
  return value;
}
