import { RuntimeError } from './errors';
import type { CatalogEntry, TransportTemplate } from './catalog-types';

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** Field names a template string references, in order. */
export function templateFields(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
}

/** Throws `invalid_catalog_entry` when a template names a field the entry does not declare. */
export function validateTemplates(entry: CatalogEntry): void {
  const known = new Set(entry.credential_fields.map((f) => f.name));
  const values = entry.transport.type === 'http' ? [entry.transport.url, ...Object.values(entry.transport.headers)] : [...Object.values(entry.transport.env)];
  for (const v of values) {
    for (const field of templateFields(v)) {
      if (!known.has(field)) {
        throw new RuntimeError('invalid_catalog_entry', `catalog entry ${entry.id}: template references unknown credential field "${field}"`);
      }
    }
  }
  if (entry.transport.type === 'http' && templateFields(entry.transport.url).length > 0) {
    // Secrets in URLs end up in access logs and error messages; headers only.
    throw new RuntimeError('invalid_catalog_entry', `catalog entry ${entry.id}: the URL must not contain credentials`);
  }
}

/** A transport with every template filled: holds secrets, so it lives only inside the pool. */
export type FilledTransport =
  { type: 'http'; url: string; headers: Record<string, string> } | { type: 'stdio'; command: string; args: string[]; env: Record<string, string> };

export type FillResult = { ok: true; transport: FilledTransport; secrets: string[] } | { ok: false; code: 'credentials_missing'; message: string };

// Header/env values must be single-line printable text; anything else could smuggle extra headers.
const SAFE_VALUE = /^[\x20-\x7e\u00a0-\uffff]*$/;

/**
 * Fill the entry's templates from the tenant's credential values. A template (header or env var)
 * whose fields are optional and absent is dropped; a missing required field fails the whole fill
 * with `credentials_missing`, so we never connect with half a credential. Messages name fields,
 * never values.
 */
export function fillTransport(entry: CatalogEntry, values: Record<string, string>): FillResult {
  for (const f of entry.credential_fields) {
    if (f.required && !(typeof values[f.name] === 'string' && values[f.name] !== '')) {
      return { ok: false, code: 'credentials_missing', message: `no "${f.name}" credential for server ${entry.id}` };
    }
  }
  const secretNames = new Set(entry.credential_fields.filter((f) => f.secret).map((f) => f.name));
  const secrets = new Set<string>();
  let failure: string | null = null;

  const fill = (template: string): string | null => {
    let missing = false;
    const out = template.replace(PLACEHOLDER, (_m, field: string) => {
      const v = values[field];
      if (typeof v !== 'string' || v === '') {
        missing = true;
        return '';
      }
      if (!SAFE_VALUE.test(v)) failure ??= `credential "${field}" for server ${entry.id} contains control characters`;
      if (secretNames.has(field)) secrets.add(v);
      return v;
    });
    return missing ? null : out;
  };

  const filledMap = (m: Record<string, string>): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, t] of Object.entries(m)) {
      const v = fill(t);
      if (v !== null) out[k] = v;
    }
    return out;
  };

  const t: TransportTemplate = entry.transport;
  const transport: FilledTransport =
    t.type === 'http'
      ? { type: 'http', url: t.url, headers: filledMap(t.headers) }
      : { type: 'stdio', command: t.command, args: [...t.args], env: filledMap(t.env) };
  if (failure) return { ok: false, code: 'credentials_missing', message: failure };
  return { ok: true, transport, secrets: [...secrets] };
}

/** Replace every known secret in a message (errors from transports may echo what they were given). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}
