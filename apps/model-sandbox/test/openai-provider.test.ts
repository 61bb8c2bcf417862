import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { createOpenAIProvider, createScriptedModel, isModelError, ModelError } from '@agents/agent';
import type { ModelProvider, ModelRequest } from '@agents/agent';
import { createLogger, silentLogger } from '@agents/observability';
import { createModelServer } from '@agents/model-sandbox';
import type { ModelServer } from '@agents/model-sandbox';

const API_KEY = 'sk-proj-SECRETsecret0123456789abcdef';

const scenarios = [{ name: 'hello', match: 'hello', turns: [{ content: 'Hi there' }] }];
const helloReq: ModelRequest = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] };

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Records requested waits and returns at once, so retry tests need no real clock. */
function recordingSleep() {
  const delays: number[] = [];
  const sleep = async (ms: number) => {
    delays.push(ms);
  };
  return { delays, sleep };
}

describe('openai provider (against the model-sandbox)', () => {
  let server: ModelServer;

  beforeAll(async () => {
    server = await createModelServer({ model: createScriptedModel({ scenarios }), logger: silentLogger() });
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => server.reset());

  it('retries a 429 and honours Retry-After (seconds), then succeeds', async () => {
    const { delays, sleep } = recordingSleep();
    const provider = createOpenAIProvider({ apiKey: API_KEY, baseURL: server.url, logger: silentLogger(), sleep });
    server.injectFailures([{ status: 429, retryAfterS: 2 }]);
    const turn = await provider.complete(helloReq);
    expect(turn.message.content).toBe('Hi there');
    expect(delays).toEqual([2000]);
    expect(server.stats()).toEqual({ received: 2, injected_failures: 1, completed: 1 });
  });

  it('honours retry-after-ms and caps any server-requested wait at retryMaxDelayMs', async () => {
    const { delays, sleep } = recordingSleep();
    const provider = createOpenAIProvider({ apiKey: API_KEY, baseURL: server.url, logger: silentLogger(), sleep });
    server.injectFailures([
      { status: 503, retryAfterMs: 1234 },
      { status: 429, retryAfterS: 120 },
    ]);
    await provider.complete(helloReq);
    expect(delays).toEqual([1234, 30_000]);
    expect(server.stats().received).toBe(3);
  });

  it('uses exponential backoff with jitter when there is no Retry-After', async () => {
    const { delays, sleep } = recordingSleep();
    const provider = createOpenAIProvider({
      apiKey: API_KEY,
      baseURL: server.url,
      logger: silentLogger(),
      sleep,
      random: () => 0.5,
      retryBaseDelayMs: 100,
    });
    server.injectFailures([{ status: 500 }, { status: 502 }, { status: 500 }]);
    await provider.complete(helloReq);
    // nominal 100·2^n, equal jitter at 0.5 → 75%: 75, 150, 300
    expect(delays).toEqual([75, 150, 300]);
  });

  it('gives up after maxRetries on repeated 500s with a retryable ModelError', async () => {
    const { delays, sleep } = recordingSleep();
    const provider = createOpenAIProvider({ apiKey: API_KEY, baseURL: server.url, logger: silentLogger(), sleep, maxRetries: 2 });
    server.injectFailures([{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }]);
    const err = await provider.complete(helloReq).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err).toMatchObject({ code: 'model_error', retryable: true, status: 500 });
    expect((err as Error).message).toContain('after 3 attempts');
    expect(delays).toHaveLength(2);
    expect(server.stats().received).toBe(3);
  });

  it('does not retry a 400 and maps it to a non-retryable ModelError', async () => {
    const { delays, sleep } = recordingSleep();
    const provider = createOpenAIProvider({ apiKey: API_KEY, baseURL: server.url, logger: silentLogger(), sleep });
    const err = await provider.complete({ model: 'gpt-4o-mini', messages: [] }).catch((e: unknown) => e);
    expect(isModelError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'model_error', retryable: false, status: 400 });
    expect((err as Error).message).toContain('messages must be a non-empty array');
    expect(delays).toEqual([]);
    expect(server.stats().received).toBe(1);
  });

  it('retries per request with the x-scripted-fail header hook', async () => {
    const { delays, sleep } = recordingSleep();
    // A transport wrapper adds the hook header: a double at the network boundary.
    const fetchWithHook: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('x-scripted-fail', '429,500');
      headers.set('x-scripted-retry-after', '1');
      return fetch(input, { ...init, headers });
    };
    const provider = createOpenAIProvider({ apiKey: API_KEY, baseURL: server.url, logger: silentLogger(), sleep, fetch: fetchWithHook });
    const turn = await provider.complete(helloReq);
    expect(turn.message.content).toBe('Hi there');
    expect(delays).toEqual([1000, 1000]);
    expect(server.stats()).toEqual({ received: 3, injected_failures: 2, completed: 1 });
  });

  it('maps connection failures to a retryable ModelError after retries', async () => {
    const { delays, sleep } = recordingSleep();
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const provider = createOpenAIProvider({
      apiKey: API_KEY,
      baseURL: `http://127.0.0.1:${port}/v1`,
      logger: silentLogger(),
      sleep,
      maxRetries: 1,
    });
    const err = await provider.complete(helloReq).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'model_error', retryable: true });
    expect((err as ModelError).status).toBeUndefined();
    expect(delays).toHaveLength(1);
  });

  it('never puts the API key in errors or logs, even when the server echoes it', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      name: 'test',
      level: 'debug',
      destination: new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    });
    const { sleep } = recordingSleep();
    // A transport double that answers like a misbehaving proxy: the key echoed in the error text.
    const echoingFetch: typeof fetch = async (_input, init) => {
      const auth = new Headers(init?.headers).get('authorization') ?? '';
      const status = lines.length === 0 ? 429 : 401;
      return new Response(
        JSON.stringify({ error: { message: `Bad key ${auth} (${API_KEY})`, type: 'invalid_request_error', code: 'invalid_api_key', param: null } }),
        {
          status,
          headers: { 'content-type': 'application/json', 'retry-after': '0' },
        },
      );
    };
    const provider = createOpenAIProvider({ apiKey: API_KEY, baseURL: server.url, logger, sleep, fetch: echoingFetch });
    const err = (await provider.complete(helloReq).catch((e: unknown) => e)) as ModelError;
    expect(err).toMatchObject({ code: 'model_error', retryable: false, status: 401, providerCode: 'invalid_api_key' });
    const everything = [err.message, String(err.stack), JSON.stringify(err), ...lines].join('\n');
    expect(everything).not.toContain(API_KEY);
    expect(everything).not.toContain('SECRETsecret');
    expect(lines.length).toBeGreaterThan(0); // the retry was logged, without the key
  });

  it('aborts promptly mid-latency with an AbortError and cancels the model call server-side', async () => {
    const entered = deferred();
    const settled = deferred<string>();
    const slow = createScriptedModel({ scenarios, latencyMs: 600_000 });
    const gated: ModelProvider = {
      id: 'gated',
      complete: (req, opts) => {
        entered.resolve();
        const p = slow.complete(req, opts);
        p.then(
          () => settled.resolve('completed'),
          (e: Error) => settled.resolve(e.name),
        );
        return p;
      },
    };
    const slowServer = await createModelServer({ model: gated, logger: silentLogger() });
    try {
      const provider = createOpenAIProvider({ apiKey: API_KEY, baseURL: slowServer.url, logger: silentLogger() });
      const ac = new AbortController();
      const call = provider.complete(helloReq, { signal: ac.signal }).catch((e: unknown) => e);
      await entered.promise;
      ac.abort();
      const err = await call;
      expect((err as Error).name).toBe('AbortError');
      expect(isModelError(err)).toBe(false);
      // The client's disconnect reached the model: its latency wait was aborted, not left running.
      expect(await settled.promise).toBe('AbortError');
    } finally {
      await slowServer.close();
    }
  });

  it('aborts promptly during a retry backoff wait', async () => {
    const retrying = deferred();
    const logger = createLogger({
      name: 'test',
      level: 'warn',
      destination: new Writable({
        write(_chunk, _enc, cb) {
          retrying.resolve();
          cb();
        },
      }),
    });
    // Default (real) sleep: a 30 s Retry-After that the abort must cut short.
    const provider = createOpenAIProvider({ apiKey: API_KEY, baseURL: server.url, logger });
    server.injectFailures([{ status: 429, retryAfterS: 30 }]);
    const ac = new AbortController();
    const call = provider.complete(helloReq, { signal: ac.signal }).catch((e: unknown) => e);
    await retrying.promise;
    ac.abort();
    const err = await call;
    expect((err as Error).name).toBe('AbortError');
    expect(server.stats().received).toBe(1);
  });

  it('refuses to be created without an API key', () => {
    expect(() => createOpenAIProvider({ apiKey: '', logger: silentLogger() })).toThrow(ModelError);
  });
});
