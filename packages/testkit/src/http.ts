import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TEST_OPERATOR_KEY } from './config';

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A tiny JSON client for API tests: real HTTP, operator key unless told otherwise. */
export function apiClient(baseUrl: string, defaultKey: string = TEST_OPERATOR_KEY) {
  return async function call<T = any>(
    method: string,
    path: string,
    opts: { body?: unknown; rawBody?: string; key?: string | null; headers?: Record<string, string> } = {},
  ): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    const key = opts.key === undefined ? defaultKey : opts.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(baseUrl + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  };
}

/** What apiClient returns: `call(method, path, opts)`. */
export type ApiCall = ReturnType<typeof apiClient>;

/** Serves `listener` (an Express app or any request listener) on a free local port until `close`. */
export async function serveLocally(listener: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
