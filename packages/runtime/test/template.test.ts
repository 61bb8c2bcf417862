import { fillTransport, scrubSecrets, validateTemplates } from '../src/template';
import type { CatalogEntry } from '../src/catalog-types';

const entry = (transport: CatalogEntry['transport']): CatalogEntry => ({
  id: 'z-api',
  name: 'Z-API',
  description: '',
  category: 'messaging',
  sandbox: true,
  credential_fields: [
    { name: 'instance_id', secret: false, required: true },
    { name: 'token', secret: true, required: true },
    { name: 'webhook_secret', secret: true, required: false },
  ],
  tools: [],
  transport,
});

const http = entry({
  type: 'http',
  url: 'http://127.0.0.1:1/mcp/z-api',
  headers: {
    Authorization: 'Bearer {{instance_id}}',
    'X-Credential-Token': '{{ token }}',
    'X-Credential-Webhook-Secret': '{{webhook_secret}}',
  },
});

describe('fillTransport', () => {
  it('fills header templates, drops optional ones without a value, lists secrets', () => {
    const r = fillTransport(http, { instance_id: 'inst-12345', token: 'tok-secret-1' });
    expect(r).toEqual({
      ok: true,
      transport: {
        type: 'http',
        url: 'http://127.0.0.1:1/mcp/z-api',
        headers: { Authorization: 'Bearer inst-12345', 'X-Credential-Token': 'tok-secret-1' },
      },
      secrets: ['tok-secret-1'],
    });
  });

  it('fills stdio env templates', () => {
    const e = entry({ type: 'stdio', command: 'node', args: ['x.js'], env: { ZAPI_TOKEN: '{{token}}', MODE: 'sandbox' } });
    const r = fillTransport(e, { instance_id: 'inst-12345', token: 'tok-secret-1' });
    expect(r).toMatchObject({ ok: true, transport: { type: 'stdio', env: { ZAPI_TOKEN: 'tok-secret-1', MODE: 'sandbox' } } });
  });

  it('a missing required field → credentials_missing, naming the field but no value', () => {
    const r = fillTransport(http, { instance_id: 'inst-12345' });
    expect(r).toEqual({ ok: false, code: 'credentials_missing', message: 'no "token" credential for server z-api' });
    expect(fillTransport(http, {})).toMatchObject({ ok: false, code: 'credentials_missing' });
  });

  it('refuses values that would inject extra headers', () => {
    const r = fillTransport(http, { instance_id: 'inst-12345', token: 'abc\r\nX-Evil: 1' });
    expect(r).toMatchObject({ ok: false, code: 'credentials_missing' });
    expect(JSON.stringify(r)).not.toContain('X-Evil');
  });
});

describe('validateTemplates', () => {
  it('rejects unknown fields and credentials in URLs', () => {
    expect(() => validateTemplates(entry({ type: 'http', url: 'http://x', headers: { Authorization: 'Bearer {{nope}}' } }))).toThrow(
      expect.objectContaining({ code: 'invalid_catalog_entry' }),
    );
    expect(() => validateTemplates(entry({ type: 'http', url: 'http://x/{{token}}', headers: {} }))).toThrow(
      expect.objectContaining({ code: 'invalid_catalog_entry' }),
    );
    expect(() => validateTemplates(http)).not.toThrow();
  });
});

describe('scrubSecrets', () => {
  it('replaces every occurrence', () => {
    expect(scrubSecrets('bad key sk_test_123 (sk_test_123)', ['sk_test_123'])).toBe('bad key [redacted] ([redacted])');
  });
});
