import { createCatalog, stripeOfficialEntry } from '../src/catalog';
import { fillTransport } from '../src/template';
import type { CatalogEntry } from '../src/catalog-types';

const SIX = ['stripe', 'correios', 'nuvem-fiscal', 'asaas', 'melhor-envio', 'z-api'];

describe('createCatalog', () => {
  const catalog = createCatalog({ sandboxUrl: 'http://127.0.0.1:4010/' });

  it('ships the six sandbox providers over http with the sandbox header convention, plus stripe-official', () => {
    const ids = catalog.list().map((e) => e.id);
    expect(ids).toEqual([...SIX, 'stripe-official']);
    for (const id of SIX) {
      const e = catalog.get(id) as CatalogEntry;
      expect(e.sandbox).toBe(true);
      expect(e.tools.length).toBeGreaterThan(0);
      expect(e.transport).toMatchObject({ type: 'http', url: `http://127.0.0.1:4010/mcp/${id}` });
      const first = e.credential_fields[0]!.name;
      expect(e.transport.type === 'http' && e.transport.headers.Authorization).toBe(`Bearer {{${first}}}`);
    }
  });

  it('fills every sandbox entry from a full credential set', () => {
    for (const e of catalog.list()) {
      const values = Object.fromEntries(e.credential_fields.map((f) => [f.name, `value-of-${f.name}`]));
      const r = fillTransport(e, values);
      expect(r.ok).toBe(true);
      if (r.ok && r.transport.type === 'http') {
        for (const [k, v] of Object.entries(r.transport.headers)) {
          expect(k).toMatch(/^(Authorization|X-Credential-[A-Z][A-Za-z]*(-[A-Z][A-Za-z0-9]*)*)$/);
          expect(v).not.toContain('{{');
        }
      }
    }
  });

  it('can point the sandbox providers at the stdio entry instead', () => {
    const c = createCatalog({
      sandboxUrl: 'http://x',
      sandboxTransport: { type: 'stdio', command: 'tsx', args: ['apps/sandbox/src/stdio.ts'] },
      includeStripeOfficial: false,
    });
    const asaas = c.get('asaas') as CatalogEntry;
    expect(asaas.transport).toMatchObject({ type: 'stdio', command: 'tsx', args: ['apps/sandbox/src/stdio.ts', 'asaas'] });
    const first = asaas.credential_fields[0]!.name;
    expect(asaas.transport.type === 'stdio' && asaas.transport.env[`SANDBOX_CREDENTIAL_${first.toUpperCase()}`]).toBe(`{{${first}}}`);
    expect(c.get('stripe-official')).toBeUndefined();
  });

  it('documents the official Stripe MCP: pinned npx package, key via env only', () => {
    const e = stripeOfficialEntry();
    expect(e.transport).toEqual({
      type: 'stdio',
      command: 'npx',
      args: ['-y', '@stripe/mcp@0.3.3'],
      env: { STRIPE_SECRET_KEY: '{{secret_key}}' },
    });
    expect(e.credential_fields).toEqual([{ name: 'secret_key', secret: true, required: true }]);
  });

  it('rejects bad entries', () => {
    const bad = (patch: Partial<CatalogEntry>) => () =>
      createCatalog({ sandboxUrl: 'http://x', extraEntries: [{ ...stripeOfficialEntry(), id: 'extra', ...patch }] });
    expect(bad({ id: 'Bad_Id' })).toThrow(expect.objectContaining({ code: 'invalid_catalog_entry' }));
    expect(bad({ id: 'stripe' })).toThrow(expect.objectContaining({ code: 'invalid_catalog_entry' }));
    expect(bad({ transport: { type: 'stdio', command: 'x', args: [], env: { K: '{{nope}}' } } })).toThrow(
      expect.objectContaining({ code: 'invalid_catalog_entry' }),
    );
    expect(bad({})).not.toThrow();
  });
});
