/**
 * The fixture template language: `{{ expr }}` inside strings of tool-call arguments and replies.
 *
 *   {{result.<function>}}         the most recent tool result answering a call to <function>
 *                                 (parsed JSON if it is JSON, else the text)
 *   {{result.<function>.<path>}}  a field of it; dot path, numeric segments index arrays
 *                                 (e.g. result.asaas__create_payment.id, result.x.data.0.id).
 *                                 If the result is wrapped (`{success, data, error}`, MCP
 *                                 `structuredContent`, or MCP text `content[0].text`), the path
 *                                 is also tried inside the wrappers (nested up to three levels).
 *   {{today}} / {{today+3}}       UTC date YYYY-MM-DD (offset in days), from the injected clock
 *   {{a || b || 'literal'}}       first alternative that resolves
 *
 * A string that is exactly one template takes the referenced value's type (number, object…) and
 * becomes null when nothing resolves; inside longer text values are stringified and an unresolved
 * template renders as "(unknown)".
 */

export interface TemplateContext {
  /** Tool function name → raw content of the most recent tool message answering it. */
  results: ReadonlyMap<string, string>;
  now: Date;
}

type Resolved = { found: true; value: unknown } | { found: false };

const NOT_FOUND: Resolved = { found: false };
const WHOLE = /^\s*\{\{([^{}]*)\}\}\s*$/;
const ANY = /\{\{([^{}]*)\}\}/g;
export const UNRESOLVED_TEXT = '(unknown)';

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function walk(root: unknown, segments: string[]): Resolved {
  let cur: unknown = root;
  for (const seg of segments) {
    if (Array.isArray(cur) && /^\d+$/.test(seg)) {
      cur = cur[Number(seg)];
    } else if (cur !== null && typeof cur === 'object' && Object.prototype.hasOwnProperty.call(cur, seg)) {
      cur = (cur as Record<string, unknown>)[seg];
    } else {
      return NOT_FOUND;
    }
    if (cur === undefined) return NOT_FOUND;
  }
  return { found: true, value: cur };
}

/** Wrapper payloads one level down: ToolResult `data`, MCP `structuredContent`, MCP text `content[0].text`. */
function unwrap(value: unknown): unknown[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const obj = value as Record<string, unknown>;
  const out: unknown[] = [];
  if (obj.data !== undefined) out.push(obj.data);
  if (obj.structuredContent !== undefined) out.push(obj.structuredContent);
  const content = obj.content;
  if (Array.isArray(content)) {
    const first = content[0] as { type?: unknown; text?: unknown } | undefined;
    if (first && first.type === 'text' && typeof first.text === 'string') out.push(parseJson(first.text));
  }
  return out;
}

/**
 * The result itself, then what its wrappers hold, breadth first up to three levels (an MCP result
 * whose structured content is itself a `{data: […]}` list envelope is common).
 */
function candidates(parsed: unknown): unknown[] {
  const out: unknown[] = [parsed];
  let level: unknown[] = [parsed];
  for (let depth = 0; depth < 3 && level.length > 0; depth++) {
    level = level.flatMap(unwrap);
    out.push(...level);
  }
  return out;
}

function resolveReference(ref: string, ctx: TemplateContext): Resolved {
  const literal = /^'(.*)'$|^"(.*)"$/s.exec(ref);
  if (literal) return { found: true, value: literal[1] ?? literal[2] ?? '' };

  const today = /^today(?:([+-])(\d+))?$/.exec(ref);
  if (today) {
    const offsetDays = today[2] ? Number(today[2]) * (today[1] === '-' ? -1 : 1) : 0;
    const d = new Date(ctx.now.getTime() + offsetDays * 86_400_000);
    return { found: true, value: d.toISOString().slice(0, 10) };
  }

  const result = /^result\.([a-zA-Z0-9_-]+)(?:\.(.+))?$/.exec(ref);
  if (result) {
    const raw = ctx.results.get(result[1] ?? '');
    if (raw === undefined) return NOT_FOUND;
    const parsed = parseJson(raw);
    if (result[2] === undefined) return { found: true, value: parsed };
    const segments = result[2].split('.');
    for (const candidate of candidates(parsed)) {
      const r = walk(candidate, segments);
      if (r.found) return r;
    }
    return NOT_FOUND;
  }
  return NOT_FOUND;
}

function evaluate(expr: string, ctx: TemplateContext): Resolved {
  for (const alt of expr.split('||')) {
    const r = resolveReference(alt.trim(), ctx);
    if (r.found && r.value !== null) return r;
  }
  return NOT_FOUND;
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Renders templates inside text (reply content, or a string argument with surrounding text). */
export function renderText(text: string, ctx: TemplateContext): string {
  return text.replace(ANY, (_m, expr: string) => {
    const r = evaluate(expr, ctx);
    return r.found ? stringify(r.value) : UNRESOLVED_TEXT;
  });
}

/** Renders templates in every string of an arguments value, recursively. */
export function renderValue(value: unknown, ctx: TemplateContext): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) {
      const r = evaluate(whole[1] ?? '', ctx);
      return r.found ? r.value : null;
    }
    return renderText(value, ctx);
  }
  if (Array.isArray(value)) return value.map((v) => renderValue(v, ctx));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renderValue(v, ctx);
    return out;
  }
  return value;
}
