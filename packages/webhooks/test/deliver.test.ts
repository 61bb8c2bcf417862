import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { deliverWebhook, generateWebhookSecret, isRetryable, signPayload } from '@agents/webhooks';
import type { Resolve } from '@agents/webhooks';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Loopback callback receiver: the process-boundary test double. */
const received: Received[] = [];
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const path = req.url ?? '/';
    received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    switch (path) {
      case '/ok':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks');
        return;
      case '/accepted-big':
        // 1 MiB body: the client must stop reading at 64 KiB and still report the 202.
        res.writeHead(202).end(Buffer.alloc(1024 * 1024, 'x'));
        return;
      case '/fail':
        res.writeHead(500).end('boom');
        return;
      case '/gone':
        res.writeHead(410).end();
        return;
      case '/redirect':
        res.writeHead(302, { location: `${baseUrl}/ok` }).end();
        return;
      case '/hang':
        return; // never answers
      default:
        res.writeHead(404).end();
    }
  });
});
let baseUrl = '';
let port = 0;
/** TCP connections the receiver accepted: a refusal must happen before connecting, not after. */
let connections = 0;
server.on('connection', () => {
  connections += 1;
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received.length = 0;
  connections = 0;
});

const fixedDns =
  (table: Record<string, string[]>): Resolve =>
  async (host) =>
    table[host] ?? [];

describe('deliverWebhook against a loopback receiver (allowPrivate: true)', () => {
  it('delivers a signed event that the receiver can verify; 200 is ok', async () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ id: 'evt_ok', type: 'job.succeeded', created_at: new Date().toISOString(), data: {} });
    const headers = signPayload({ id: 'evt_ok', timestamp: Math.floor(Date.now() / 1000), body, secrets: [secret] });
    const result = await deliverWebhook({ url: `${baseUrl}/ok`, headers: { ...headers }, body, allowPrivate: true });
    expect(result).toMatchObject({ ok: true, status: 200, error: null });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(isRetryable(result)).toBe(false);

    expect(received).toHaveLength(1);
    const got = received[0] as Received;
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.body).toBe(body);
    const verified = new Webhook(secret).verify(got.body, {
      'webhook-id': String(got.headers['webhook-id']),
      'webhook-timestamp': String(got.headers['webhook-timestamp']),
      'webhook-signature': String(got.headers['webhook-signature']),
    });
    expect(verified).toMatchObject({ id: 'evt_ok' });
  });

  it('treats any 2xx as delivered and stops reading a large response body', async () => {
    const result = await deliverWebhook({ url: `${baseUrl}/accepted-big`, headers: {}, body: '{}', allowPrivate: true });
    expect(result).toMatchObject({ ok: true, status: 202, error: null });
  });

  it('500 is a retryable failure', async () => {
    const result = await deliverWebhook({ url: `${baseUrl}/fail`, headers: {}, body: '{}', allowPrivate: true });
    expect(result).toMatchObject({ ok: false, status: 500, error: null });
    expect(isRetryable(result)).toBe(true);
  });

  it('410 Gone stops retrying', async () => {
    const result = await deliverWebhook({ url: `${baseUrl}/gone`, headers: {}, body: '{}', allowPrivate: true });
    expect(result).toMatchObject({ ok: false, status: 410, error: null });
    expect(isRetryable(result)).toBe(false);
  });

  it('does not follow a 302', async () => {
    const result = await deliverWebhook({ url: `${baseUrl}/redirect`, headers: {}, body: '{}', allowPrivate: true });
    expect(result).toMatchObject({ ok: false, status: 302, error: 'redirect_not_followed' });
    expect(isRetryable(result)).toBe(true);
    expect(received.map((r) => r.path)).toEqual(['/redirect']);
  });

  it('times out when the receiver never answers', async () => {
    const result = await deliverWebhook({ url: `${baseUrl}/hang`, headers: {}, body: '{}', allowPrivate: true, timeoutMs: 200 });
    expect(result).toMatchObject({ ok: false, status: null, error: 'timeout' });
    expect(isRetryable(result)).toBe(true);
  });

  it('reports a refused connection as connection_error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await deliverWebhook({ url: `http://127.0.0.1:${closedPort}/`, headers: {}, body: '{}', allowPrivate: true });
    expect(result).toMatchObject({ ok: false, status: null, error: 'connection_error' });
    expect(isRetryable(result)).toBe(true);
  });

  it('connects to the address the lookup returned (host name pinned through the guarded lookup)', async () => {
    const resolve = fixedDns({ 'receiver.test': ['127.0.0.1'] });
    const result = await deliverWebhook({ url: `http://receiver.test:${port}/ok`, headers: {}, body: '{}', allowPrivate: true, resolve });
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(received[0]?.headers.host).toBe(`receiver.test:${port}`);
  });

  it('resolves host names with the system resolver by default (localhost is in every hosts file)', async () => {
    const result = await deliverWebhook({ url: `http://localhost:${port}/ok`, headers: {}, body: '{}', allowPrivate: true });
    expect(result).toMatchObject({ ok: true, status: 200 });
  });

  it('rejects an unusable URL without retrying', async () => {
    for (const url of ['not a url', 'ftp://127.0.0.1/', 'http://u:p@127.0.0.1/']) {
      const result = await deliverWebhook({ url, headers: {}, body: '{}', allowPrivate: true });
      expect(result).toMatchObject({ ok: false, status: null, error: 'invalid_url' });
      expect(isRetryable(result)).toBe(false);
    }
  });
});

describe('deliverWebhook SSRF gate at connect time (allowPrivate: false)', () => {
  it.each([
    () => `http://127.0.0.1:${port}/ok`,
    () => `http://[::ffff:127.0.0.1]:${port}/ok`,
    () => `http://2130706433:${port}/ok`,
    () => `http://localhost:${port}/ok`,
  ])('refuses loopback literal #%#', async (makeUrl) => {
    const result = await deliverWebhook({ url: makeUrl(), headers: {}, body: '{}', allowPrivate: false });
    expect(result).toMatchObject({ ok: false, status: null, error: 'address_not_allowed' });
    expect(received).toHaveLength(0);
    expect(connections).toBe(0);
  });

  it('refuses a host name that now resolves to loopback (DNS rebinding after submission)', async () => {
    // Passed checkCallbackUrl while it resolved publicly; at delivery time DNS answers 127.0.0.1.
    const resolve = fixedDns({ 'rebind.test': ['127.0.0.1'] });
    const result = await deliverWebhook({ url: `http://rebind.test:${port}/ok`, headers: {}, body: '{}', allowPrivate: false, resolve });
    expect(result).toMatchObject({ ok: false, status: null, error: 'address_not_allowed' });
    expect(received).toHaveLength(0);
    expect(connections).toBe(0);
  });

  it('refuses when any resolved address is private, even if another is public', async () => {
    const resolve = fixedDns({ 'mixed.test': ['93.184.216.34', '127.0.0.1'] });
    const result = await deliverWebhook({ url: `http://mixed.test:${port}/ok`, headers: {}, body: '{}', allowPrivate: false, resolve });
    expect(result).toMatchObject({ ok: false, error: 'address_not_allowed' });
    expect(received).toHaveLength(0);
    expect(connections).toBe(0);
  });

  it.each(['169.254.169.254', '100.100.100.200', '10.0.0.1', 'fd00:ec2::254', '::ffff:127.0.0.1', '0.0.0.0'])(
    'refuses %s from DNS before any connection (request-filtering-agent)',
    async (address) => {
      const resolve = fixedDns({ 'inside.test': [address] });
      const result = await deliverWebhook({ url: `http://inside.test:${port}/ok`, headers: {}, body: '{}', allowPrivate: false, resolve, timeoutMs: 2000 });
      expect(result).toMatchObject({ ok: false, status: null, error: 'address_not_allowed' });
    },
  );
});
