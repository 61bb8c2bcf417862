import { assignModelNames, MODEL_NAME_PATTERN, resolveToolName } from '../src/tool-names';

describe('assignModelNames', () => {
  it('uses <server>__<tool> when valid and unique', () => {
    const names = assignModelNames([
      { server: 'asaas', tool: 'create_payment' },
      { server: 'z-api', tool: 'send_text' },
    ]);
    expect(names.get('asaas/create_payment')).toBe('asaas__create_payment');
    expect(names.get('z-api/send_text')).toBe('z-api__send_text');
  });

  it('truncates long names with a hash suffix, deterministically, ≤ 64 chars', () => {
    const tool = 'x'.repeat(100);
    const a = assignModelNames([{ server: 'nuvem-fiscal', tool }]).get(`nuvem-fiscal/${tool}`) as string;
    const b = assignModelNames([{ server: 'nuvem-fiscal', tool }]).get(`nuvem-fiscal/${tool}`) as string;
    expect(a).toBe(b);
    expect(a).toMatch(MODEL_NAME_PATTERN);
    expect(a.length).toBe(64);
    expect(a).toMatch(/^nuvem-fiscal__x+_[0-9a-f]{8}$/);
  });

  it('separates names that sanitise or truncate to the same string', () => {
    const long = 'y'.repeat(80);
    const tools = [
      { server: 's', tool: 'a.b' },
      { server: 's', tool: 'a:b' },
      { server: 's', tool: 'a_b' },
      { server: 's', tool: `${long}1` },
      { server: 's', tool: `${long}2` },
    ];
    const names = assignModelNames(tools);
    const values = [...names.values()];
    expect(new Set(values).size).toBe(tools.length);
    for (const v of values) expect(v).toMatch(MODEL_NAME_PATTERN);
    expect(names.get('s/a_b')).toBe('s__a_b'); // valid and unique: unchanged
    expect(names.get('s/a.b')).toMatch(/^s__a_b_[0-9a-f]{8}$/);
  });
});

describe('resolveToolName (session servers: asaas, z-api)', () => {
  const servers = ['asaas', 'z-api'];
  const ok = (name: string) => resolveToolName(name, servers);

  it('resolves canonical and model-facing names', () => {
    expect(ok('asaas/create_payment')).toEqual({ ok: true, server: 'asaas', tool: 'create_payment' });
    expect(ok('asaas__create_payment')).toEqual({ ok: true, server: 'asaas', tool: 'create_payment' });
    expect(ok('z-api__send_text')).toEqual({ ok: true, server: 'z-api', tool: 'send_text' });
  });

  it.each([
    ['stripe/create_payment_intent', 'stripe'],
    ['stripe__create_payment_intent', 'stripe'],
    ['Asaas/create_payment', 'Asaas'],
    ['ASAAS__create_payment', 'ASAAS'],
    ['../stripe/x', '..'],
    ['ａｓａａｓ/create_payment', 'ａｓａａｓ'], // fullwidth
    ['аsaas/create_payment', 'аsaas'], // Cyrillic а
    ['as\u200baas/create_payment', 'as\u200baas'], // zero-width space
    ['\u200basaas__create_payment', '\u200basaas'],
    ['other_server__tool', 'other_server'],
  ])('%s → server_not_in_session', (name, server) => {
    expect(ok(name)).toMatchObject({ ok: false, code: 'server_not_in_session', server });
  });

  it.each(['', 'create_payment', 'x'.repeat(10_000)])('%s → tool_not_found without a server', (name) => {
    expect(ok(name)).toMatchObject({ ok: false, code: 'tool_not_found' });
  });

  it('leaves the tool part to be checked against the server list', () => {
    // These resolve to an in-session server; the session then refuses them as tool_not_found.
    expect(ok('asaas__../x')).toEqual({ ok: true, server: 'asaas', tool: '../x' });
    expect(ok('asaas/create_payment/extra')).toEqual({ ok: true, server: 'asaas', tool: 'create_payment/extra' });
    expect(ok('asaas/')).toMatchObject({ ok: false, code: 'tool_not_found', server: 'asaas' });
  });

  it('normalises to NFC only (composed and decomposed forms are the same name)', () => {
    const decomposed = 'asaas/cafe\u0301';
    expect(ok(decomposed)).toEqual({ ok: true, server: 'asaas', tool: 'caf\u00e9' });
  });

  it('resolves issued model names through the session map', () => {
    const map = new Map([['asaas__x_1234abcd', { server: 'asaas', tool: 'x'.repeat(70) }]]);
    expect(resolveToolName('asaas__x_1234abcd', servers, map)).toEqual({ ok: true, server: 'asaas', tool: 'x'.repeat(70) });
  });
});
