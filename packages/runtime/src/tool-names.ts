import { createHash } from 'node:crypto';

/** OpenAI function names: `^[a-zA-Z0-9_-]{1,64}$`. */
export const MODEL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_MODEL_NAME = 64;
const HASH_CHARS = 8;
/** Longer names are refused before any parsing work (no tool name in our catalog comes close). */
export const MAX_TOOL_NAME_CHARS = 512;

export function canonicalToolName(server: string, tool: string): string {
  return `${server}/${tool}`;
}

function hashedName(server: string, tool: string, hashChars: number): string {
  const hash = createHash('sha256').update(`${server}/${tool}`).digest('hex').slice(0, hashChars);
  const sanitized = `${server}__${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_');
  return `${sanitized.slice(0, MAX_MODEL_NAME - hashChars - 1)}_${hash}`;
}

/**
 * Model-facing names for a whole tool table. `<server>__<tool>` when that is a valid OpenAI name
 * and unique in the table; otherwise (too long, invalid characters, or colliding with another
 * name) the sanitised name truncated to 55 chars + `_` + the first 8 hex chars of
 * sha256(`<server>/<tool>`). Deterministic for a given table, so a model that saw the names in
 * one turn can use them in the next. Returns canonical name → model name.
 */
export function assignModelNames(tools: ReadonlyArray<{ server: string; tool: string }>): Map<string, string> {
  const hashed = new Set<string>();
  let hashChars = HASH_CHARS;
  for (let round = 0; round < 8; round++) {
    const names = new Map<string, string>();
    for (const { server, tool } of tools) {
      const canonical = canonicalToolName(server, tool);
      const plain = `${server}__${tool}`;
      names.set(canonical, !hashed.has(canonical) && MODEL_NAME_PATTERN.test(plain) ? plain : hashedName(server, tool, hashChars));
    }
    const owners = new Map<string, string[]>();
    for (const [canonical, name] of names) owners.set(name, [...(owners.get(name) ?? []), canonical]);
    let collided = false;
    for (const group of owners.values()) {
      if (group.length < 2) continue;
      collided = true;
      for (const canonical of group) {
        // Already hashed and still colliding: only a longer hash separates them.
        if (hashed.has(canonical)) hashChars = Math.min(hashChars + 4, 32);
        hashed.add(canonical);
      }
    }
    if (!collided) return names;
  }
  throw new Error('assignModelNames: could not make names unique'); // unreachable for distinct canonical names
}

export type NameResolution =
  { ok: true; server: string; tool: string } | { ok: false; code: 'server_not_in_session' | 'tool_not_found'; server: string; tool: string };

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) : s;
}

/**
 * Map a requested name to (server, tool) through the session's own table only. Exact match after
 * NFC normalisation (never NFKC/case folding: `Asaas`, fullwidth or Cyrillic look-alikes are
 * different names and are refused). A name resolves only if it starts with `<session server>/`
 * or `<session server>__` (or is a model name the session issued); anything else is refused
 * without contacting any server: `server_not_in_session` when it has a server prefix,
 * `tool_not_found` otherwise. The tool part is checked against the server's tool list by the caller.
 */
export function resolveToolName(
  raw: string,
  sessionServers: readonly string[],
  modelNames?: ReadonlyMap<string, { server: string; tool: string }>,
): NameResolution {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_TOOL_NAME_CHARS) {
    return { ok: false, code: 'tool_not_found', server: '', tool: clip(String(raw ?? ''), 128) };
  }
  const name = raw.normalize('NFC');
  const issued = modelNames?.get(name);
  if (issued) return { ok: true, server: issued.server, tool: issued.tool };

  let best: { server: string; tool: string } | null = null;
  for (const server of sessionServers) {
    for (const sep of ['/', '__']) {
      const prefix = server + sep;
      if (name.startsWith(prefix) && (!best || server.length > best.server.length)) {
        best = { server, tool: name.slice(prefix.length) };
      }
    }
  }
  if (best) {
    if (best.tool === '') return { ok: false, code: 'tool_not_found', server: best.server, tool: '' };
    return { ok: true, server: best.server, tool: best.tool };
  }
  const slash = name.indexOf('/');
  const under = name.indexOf('__');
  const cut = slash === -1 ? under : under === -1 ? slash : Math.min(slash, under);
  if (cut === -1) return { ok: false, code: 'tool_not_found', server: '', tool: clip(name, 128) };
  const sepLen = cut === under ? 2 : 1;
  return {
    ok: false,
    code: 'server_not_in_session',
    server: clip(name.slice(0, cut), 128),
    tool: clip(name.slice(cut + sepLen), 128),
  };
}
