/**
 * The MCP SDK's HTTP transport passes one connection-wide AbortSignal to every request; our fetch
 * gives each request its own signal so a pooled connection does not pile up abort listeners, while
 * closing the connection (aborting that signal) still ends a request in flight. Both fetches the
 * runtime has are held to it: signalIsolatingFetch (over the global fetch) and mcpHttpFetch (over
 * node:http, what the transport uses; `redirect: 'manual'` as the SDK sends it). Real HTTP server.
 */
import { getEventListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { mcpHttpFetch, signalIsolatingFetch } from '../src/mcp-connection';

let server: http.Server;
let base: string;
let sockets = 0;
let resets = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/json') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true }));
    } else if (req.url === '/echo') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization ?? null, type: req.headers['content-type'] ?? null, body }));
      });
    } else if (req.url === '/gzip') {
      res.setHeader('content-type', 'application/json');
      res.setHeader('content-encoding', 'gzip');
      res.end(zlib.gzipSync(JSON.stringify({ zipped: 'yes'.repeat(100) })));
    } else if (req.url === '/error') {
      res.statusCode = 404;
      res.end('no such session');
    } else if (req.url === '/empty') {
      res.statusCode = 202;
      res.end();
    } else if (req.url === '/empty-gzip') {
      // What a proxy may send for a 202: a compressed encoding on an empty body.
      res.writeHead(202, { 'content-encoding': 'gzip', 'content-length': '0' });
      res.end();
    } else if (req.url === '/reset') {
      // Reads the whole request, counts it, then drops the connection before answering (a server
      // that crashed mid-call).
      req.resume();
      req.on('end', () => {
        resets++;
        req.socket.destroy();
      });
    } else if (req.url === '/headers-then-stall') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
    } else {
      // A slow event stream: one chunk every 50 ms until the client goes away.
      res.setHeader('content-type', 'text/event-stream');
      const timer = setInterval(() => res.write('data: tick\n\n'), 50);
      res.on('close', () => clearInterval(timer));
    }
  });
  server.on('connection', () => sockets++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const listeners = (s: AbortSignal) => getEventListeners(s, 'abort').length;

describe.each([
  ['signalIsolatingFetch', signalIsolatingFetch, {}],
  ['mcpHttpFetch', mcpHttpFetch, { redirect: 'manual' as const }],
])('%s', (_name, fetchFn, extra) => {
  test('a thousand requests on one connection signal leave no listener on it', async () => {
    const connection = new AbortController();
    for (let i = 0; i < 1000; i++) {
      const res = await fetchFn(`${base}/json`, { method: 'POST', signal: connection.signal, ...extra });
      expect(await res.json()).toEqual({ ok: true });
    }
    const res = await fetchFn(`${base}/empty`, { method: 'POST', signal: connection.signal, ...extra });
    expect(res.status).toBe(202);
    await res.body?.cancel();
    const failed = await fetchFn(`${base}/error`, { method: 'POST', signal: connection.signal, ...extra });
    expect([failed.ok, failed.status, await failed.text()]).toEqual([false, 404, 'no such session']);
    expect(listeners(connection.signal)).toBe(0);
  });

  test('aborting the connection signal still ends a stream in flight, and a cancelled body releases it', async () => {
    const connection = new AbortController();
    const res = await fetchFn(`${base}/stream`, { signal: connection.signal, ...extra });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('tick');
    expect(listeners(connection.signal)).toBe(1);
    connection.abort(new Error('connection closed'));
    await expect(reader.read()).rejects.toBeDefined();
    expect(listeners(connection.signal)).toBe(0);

    const other = new AbortController();
    const cancelled = await fetchFn(`${base}/stream`, { signal: other.signal, ...extra });
    await cancelled.body!.cancel();
    expect(listeners(other.signal)).toBe(0);
  });

  test('a request aborted before its answer rejects with the reason; a refused connection rejects like fetch', async () => {
    const c = new AbortController();
    const pending = fetchFn(`${base}/stream`, { signal: c.signal, ...extra });
    c.abort(new Error('stop now'));
    await expect(pending.then((r) => r.body!.getReader().read())).rejects.toThrow('stop now');
    expect(listeners(c.signal)).toBe(0);
    const refused = await fetchFn('http://127.0.0.1:9/json', { method: 'POST', ...extra }).catch((e: unknown) => e);
    // (the global fetch's TypeError comes from another realm under jest: compare names)
    expect([(refused as Error).name, (refused as Error).message]).toEqual(['TypeError', 'fetch failed']);
    expect((refused as { cause?: unknown }).cause).toBeDefined();
    if (fetchFn === mcpHttpFetch) expect((refused as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
  });

  test('sends method, headers and body; decodes a compressed answer', async () => {
    const headers = new Headers({ authorization: 'Bearer k1', 'content-type': 'application/json' });
    const res = await fetchFn(`${base}/echo`, { method: 'POST', headers, body: '{"a":"ç"}', ...extra });
    expect(await res.json()).toEqual({ method: 'POST', auth: 'Bearer k1', type: 'application/json', body: '{"a":"ç"}' });
    const zipped = await fetchFn(`${base}/gzip`, { ...extra });
    expect(await zipped.json()).toEqual({ zipped: 'yes'.repeat(100) });
  });
});

test('mcpHttpFetch keeps its sockets alive; a GET that meets a socket the server closed is retried, and a closed idle socket leaves the pool', async () => {
  // Warm one pooled socket, then have the server drop every idle connection.
  await (await mcpHttpFetch(`${base}/json`, { method: 'POST', redirect: 'manual' })).text();
  const before = sockets;
  for (let i = 0; i < 20; i++) await (await mcpHttpFetch(`${base}/json`, { method: 'POST', redirect: 'manual' })).text();
  expect(sockets).toBe(before);
  // Sent in the same turn as the close, on the socket being closed: an idempotent request is retried.
  server.closeIdleConnections();
  const res = await mcpHttpFetch(`${base}/json`, { method: 'GET', redirect: 'manual' });
  expect(await res.json()).toEqual({ ok: true });
  // Once the close has arrived, the pool no longer offers that socket: a POST gets a fresh one.
  server.closeIdleConnections();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const post = await mcpHttpFetch(`${base}/json`, { method: 'POST', redirect: 'manual' });
  expect(await post.json()).toEqual({ ok: true });
});

test('mcpHttpFetch hands what it does not do itself (following a redirect) to the global fetch', async () => {
  const res = await mcpHttpFetch(`${base}/json`, { method: 'POST' });
  expect(res).toBeInstanceOf(Response);
  const fast = await mcpHttpFetch(`${base}/json`, { method: 'POST', redirect: 'manual' });
  expect(fast).not.toBeInstanceOf(Response);
  expect(await Promise.all([res.json(), fast.json()])).toEqual([{ ok: true }, { ok: true }]);
});

test('mcpHttpFetch never sends a POST twice: a connection reset after the server read it fails the call', async () => {
  // A warm pooled socket, so that the reset happens on a reused one (the case a stale-socket retry covers).
  await (await mcpHttpFetch(`${base}/json`, { method: 'POST', redirect: 'manual' })).text();
  resets = 0;
  const err = await mcpHttpFetch(`${base}/reset`, { method: 'POST', body: '{"tool":"charge"}', redirect: 'manual' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TypeError);
  expect((err as Error).message).toBe('fetch failed');
  expect(resets).toBe(1);
});

test('mcpHttpFetch: an empty compressed 202 whose body is cancelled, and a body aborted before it is read, settle without an uncaught error', async () => {
  const r = await mcpHttpFetch(`${base}/empty-gzip`, { method: 'POST', redirect: 'manual' });
  expect(r.status).toBe(202);
  await r.body?.cancel();
  const controller = new AbortController();
  const stalled = await mcpHttpFetch(`${base}/headers-then-stall`, { method: 'POST', redirect: 'manual', signal: controller.signal });
  controller.abort(new Error('closed by the client'));
  await new Promise((resolve) => setTimeout(resolve, 50));
  await expect(stalled.text()).rejects.toThrow('closed by the client');
  // Anything uncaught from the two would have failed this file by now.
  await new Promise((resolve) => setTimeout(resolve, 50));
});

test('mcpHttpFetch: a body taken as a stream cannot be read again as text, as with fetch', async () => {
  const res = await mcpHttpFetch(`${base}/json`, { method: 'POST', redirect: 'manual' });
  const reader = res.body!.getReader();
  let text = '';
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
  expect(JSON.parse(text)).toEqual({ ok: true });
  expect(res.bodyUsed).toBe(true);
  await expect(res.text()).rejects.toThrow(TypeError);
});
