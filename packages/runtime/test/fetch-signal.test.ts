/**
 * The MCP SDK's HTTP transport passes one connection-wide AbortSignal to every request; our fetch
 * gives each request its own signal so a pooled connection does not pile up abort listeners, while
 * closing the connection (aborting that signal) still ends a request in flight. Real HTTP server.
 */
import { getEventListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signalIsolatingFetch } from '../src/mcp-connection';

let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/json') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true }));
    } else if (req.url === '/empty') {
      res.statusCode = 202;
      res.end();
    } else {
      // A slow event stream: one chunk every 50 ms until the client goes away.
      res.setHeader('content-type', 'text/event-stream');
      const timer = setInterval(() => res.write('data: tick\n\n'), 50);
      res.on('close', () => clearInterval(timer));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const listeners = (s: AbortSignal) => getEventListeners(s, 'abort').length;

test('a thousand requests on one connection signal leave no listener on it', async () => {
  const connection = new AbortController();
  for (let i = 0; i < 1000; i++) {
    const res = await signalIsolatingFetch(`${base}/json`, { method: 'POST', signal: connection.signal });
    expect(await res.json()).toEqual({ ok: true });
  }
  const res = await signalIsolatingFetch(`${base}/empty`, { method: 'POST', signal: connection.signal });
  expect(res.status).toBe(202);
  await res.body?.cancel();
  expect(listeners(connection.signal)).toBe(0);
});

test('aborting the connection signal still ends a stream in flight, and a cancelled body releases it', async () => {
  const connection = new AbortController();
  const res = await signalIsolatingFetch(`${base}/stream`, { signal: connection.signal });
  const reader = res.body!.getReader();
  expect(new TextDecoder().decode((await reader.read()).value)).toContain('tick');
  expect(listeners(connection.signal)).toBe(1);
  connection.abort(new Error('connection closed'));
  await expect(reader.read()).rejects.toBeDefined();
  expect(listeners(connection.signal)).toBe(0);

  const other = new AbortController();
  const cancelled = await signalIsolatingFetch(`${base}/stream`, { signal: other.signal });
  await cancelled.body!.cancel();
  expect(listeners(other.signal)).toBe(0);
});
