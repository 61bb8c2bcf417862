import { WebhookError, checkCallbackUrl, classifyAddress } from '@agents/webhooks';
import type { Resolve } from '@agents/webhooks';

/** Test double at the DNS boundary: a fixed table, no network. */
const fakeDns =
  (table: Record<string, string[]>): Resolve =>
  async (host) => {
    const answer = table[host];
    if (!answer) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return answer;
  };

const dns = fakeDns({
  'hooks.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
  'internal.example.com': ['10.1.2.3'],
  'mixed.example.com': ['93.184.216.34', '192.168.1.10'],
  'metadata.example.com': ['169.254.169.254'],
  'v6local.example.com': ['fd00::1'],
});

const strict = { allowPrivate: false, allowHttp: true, resolve: dns };

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.0.1', 'private'],
    ['fd00::1', 'private'],
    ['fc00::1', 'private'],
    ['169.254.1.1', 'link_local'],
    ['fe80::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['::127.0.0.1', 'loopback'], // ipaddr.js reads the deprecated IPv4-compatible form as mapped: still refused
    ['fec0::1', 'reserved'], // site-local: a named range since ipaddr.js 2.3
    ['5f00::1', 'reserved'], // SRv6 SIDs (RFC 9602), named in ipaddr.js 2.5
    ['2002:7f00:1::1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['ff02::1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['240.0.0.1', 'reserved'],
  ])('%s is %s', (ip, expected) => {
    expect(classifyAddress(ip)).toBe(expected);
  });

  it.each(['2130706433', '0x7f000001', '0177.0.0.1', '127.1', 'localhost', '', '[::1]'])('refuses the non-canonical literal %j instead of guessing', (ip) => {
    expect(() => classifyAddress(ip)).toThrow(WebhookError);
  });
});

describe('checkCallbackUrl', () => {
  it.each([
    'http://127.0.0.1/hook',
    'http://127.0.0.1:8080/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fd00::1]/',
    'http://10.0.0.1/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://localhost/',
    'http://localhost./',
    'http://LOCALHOST:3000/',
    'http://api.localhost/',
    'https://internal.example.com/hook',
    'https://mixed.example.com/hook',
    'https://metadata.example.com/hook',
    'https://v6local.example.com/hook',
  ])('refuses %s', async (url) => {
    const result = await checkCallbackUrl(url, strict);
    expect(result).toMatchObject({ ok: false, code: 'address_not_allowed' });
  });

  it('explains what the host resolved to without echoing the path or query', async () => {
    const result = await checkCallbackUrl('https://internal.example.com/hook?token=s3cret', strict);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain('internal.example.com');
    expect(result.message).toContain('10.1.2.3');
    expect(result.message).not.toContain('s3cret');
  });

  it.each(['https://hooks.example.com/hook', 'http://93.184.216.34/hook', 'https://8.8.8.8:8443/x', 'https://[2606:4700:4700::1111]/x'])(
    'allows public %s (no connection made)',
    async (url) => {
      await expect(checkCallbackUrl(url, strict)).resolves.toEqual({ ok: true });
    },
  );

  it('allows private targets when WEBHOOK_ALLOW_PRIVATE_NETWORKS is on', async () => {
    const open = { allowPrivate: true, allowHttp: true, resolve: dns };
    await expect(checkCallbackUrl('http://127.0.0.1:3000/hook', open)).resolves.toEqual({ ok: true });
    await expect(checkCallbackUrl('http://localhost:3000/hook', open)).resolves.toEqual({ ok: true });
    await expect(checkCallbackUrl('https://internal.example.com/', open)).resolves.toEqual({ ok: true });
  });

  it('enforces the scheme', async () => {
    const httpsOnly = { allowPrivate: false, allowHttp: false, resolve: dns };
    await expect(checkCallbackUrl('http://hooks.example.com/', httpsOnly)).resolves.toMatchObject({ ok: false, code: 'scheme_not_allowed' });
    await expect(checkCallbackUrl('https://hooks.example.com/', httpsOnly)).resolves.toEqual({ ok: true });
    for (const url of ['ftp://hooks.example.com/', 'file:///etc/passwd', 'gopher://hooks.example.com/', 'javascript:alert(1)']) {
      await expect(checkCallbackUrl(url, strict)).resolves.toMatchObject({ ok: false, code: 'scheme_not_allowed' });
    }
  });

  it('refuses malformed URLs and URLs with credentials', async () => {
    for (const url of ['not a url', '/relative/path', 'https://', 'http://[::1', '']) {
      await expect(checkCallbackUrl(url, strict)).resolves.toMatchObject({ ok: false, code: 'invalid_url' });
    }
    const creds = await checkCallbackUrl('https://user:pw@hooks.example.com/', strict);
    expect(creds).toMatchObject({ ok: false, code: 'invalid_url' });
    if (!creds.ok) expect(creds.message).not.toContain('pw');
  });

  it('reports hosts that do not resolve', async () => {
    await expect(checkCallbackUrl('https://nowhere.example.com/', strict)).resolves.toMatchObject({ ok: false, code: 'unresolvable' });
    const empty = { ...strict, resolve: async () => [] };
    await expect(checkCallbackUrl('https://hooks.example.com/', empty)).resolves.toMatchObject({ ok: false, code: 'unresolvable' });
  });
});
