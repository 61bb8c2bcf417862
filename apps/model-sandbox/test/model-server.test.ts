import { spawn } from 'node:child_process';
import path from 'node:path';
import { createScriptedModel } from '@agents/agent';
import { silentLogger } from '@agents/observability';
import { createModelServer, parseModelSandboxConfig } from '@agents/model-sandbox';
import type { ModelServer } from '@agents/model-sandbox';

const scenarios = [
  {
    name: 'tools',
    match: 'use tools',
    turns: [{ tool_calls: [{ name: 'asaas__get_balance', arguments: {} }] }, { content: 'Balance: {{result.asaas__get_balance.balance}}' }],
  },
];
const AUTH = { authorization: 'Bearer anything-goes', 'content-type': 'application/json' };

describe('model-sandbox HTTP server', () => {
  let server: ModelServer;
  let root: string;

  beforeAll(async () => {
    server = await createModelServer({ model: createScriptedModel({ scenarios }), logger: silentLogger() });
    root = server.url.replace(/\/v1$/, '');
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => server.reset());

  const chat = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/chat/completions`, { method: 'POST', headers: { ...AUTH, ...headers }, body: JSON.stringify(body) });

  it('binds loopback on a random port and reports a /v1 base URL', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  });

  it('serves the Chat Completions response shape', async () => {
    const res = await chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'please use tools' }] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({ object: 'chat.completion', model: 'gpt-4o-mini' });
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(Number.isInteger(body.created)).toBe(true);
    expect(body.choices).toHaveLength(1);
    expect(body.choices[0]).toMatchObject({
      index: 0,
      finish_reason: 'tool_calls',
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_0_0', type: 'function', function: { name: 'asaas__get_balance', arguments: '{}' } }],
      },
    });
    const { prompt_tokens, completion_tokens, total_tokens } = body.usage;
    expect(prompt_tokens).toBeGreaterThan(0);
    expect(total_tokens).toBe(prompt_tokens + completion_tokens);
  });

  it('accepts content given as an array of text parts', async () => {
    const res = await chat({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'use tools' }] }] });
    const body = (await res.json()) as Record<string, any>;
    expect(body.choices[0].finish_reason).toBe('tool_calls');
  });

  it('lists models and requires some bearer key', async () => {
    const ok = await fetch(`${server.url}/models`, { headers: AUTH });
    expect(await ok.json()).toEqual({ object: 'list', data: [{ id: 'scripted', object: 'model', created: 0, owned_by: 'model-sandbox' }] });
    const denied = await fetch(`${server.url}/models`);
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_api_key' } });
  });

  it('answers bad requests with OpenAI-style JSON errors', async () => {
    const badJson = await fetch(`${server.url}/chat/completions`, { method: 'POST', headers: AUTH, body: '{nope' });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: { type: 'invalid_request_error' } });

    const stream = await chat({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] });
    expect(stream.status).toBe(400);
    expect(await stream.json()).toMatchObject({ error: { param: 'stream' } });

    const badRole = await chat({ model: 'm', messages: [{ role: 'robot', content: 'x' }] });
    expect(badRole.status).toBe(400);

    const unknown = await fetch(`${root}/v2/whatever`, { headers: AUTH });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { message: expect.stringContaining('Unknown route') } });
  });

  it('fails the first attempts of the same request body per x-scripted-fail, then answers', async () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'use tools' }] };
    const headers = { 'x-scripted-fail': '429,500', 'x-scripted-retry-after': '3' };
    const first = await chat(body, headers);
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('3');
    expect(await first.json()).toMatchObject({ error: { type: 'rate_limit_error', code: 'rate_limit_exceeded' } });
    expect((await chat(body, headers)).status).toBe(500);
    expect((await chat(body, headers)).status).toBe(200);
    // A different body is a different request: its own failures.
    expect((await chat({ ...body, model: 'other' }, headers)).status).toBe(429);
  });

  it('queues failures, counts requests and resets through the /_sandbox control routes', async () => {
    const queued = await fetch(`${root}/_sandbox/failures`, {
      method: 'POST',
      headers: AUTH,
      body: JSON.stringify({ statuses: [503], retry_after_ms: 250 }),
    });
    expect(await queued.json()).toEqual({ pending: 1 });
    const failed = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after-ms')).toBe('250');
    await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    const stats = await (await fetch(`${root}/_sandbox/stats`)).json();
    expect(stats).toEqual({ received: 2, injected_failures: 1, completed: 1, pending_failures: 0 });
    const bad = await fetch(`${root}/_sandbox/failures`, { method: 'POST', headers: AUTH, body: JSON.stringify({ statuses: [200] }) });
    expect(bad.status).toBe(400);
    await fetch(`${root}/_sandbox/reset`, { method: 'POST' });
    expect(server.stats()).toEqual({ received: 0, injected_failures: 0, completed: 0 });
  });

  it('rejects a port that is already taken', async () => {
    await expect(createModelServer({ port: server.port, model: createScriptedModel({ scenarios }), logger: silentLogger() })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('model-sandbox config', () => {
  it('has the documented defaults', () => {
    expect(parseModelSandboxConfig({})).toEqual({ port: 4020, host: '127.0.0.1', fixturesDir: undefined, latencyMs: 0, logLevel: 'info' });
  });

  it('reads the variables and names a bad one with the fix', () => {
    expect(parseModelSandboxConfig({ MODEL_SANDBOX_PORT: '0', FIXTURES_DIR: '/tmp/f', MODEL_LATENCY_MS: '250' })).toMatchObject({
      port: 0,
      fixturesDir: '/tmp/f',
      latencyMs: 250,
    });
    expect(() => parseModelSandboxConfig({ MODEL_LATENCY_MS: 'soon' })).toThrow(/MODEL_LATENCY_MS must be an integer/);
    expect(() => parseModelSandboxConfig({ MODEL_SANDBOX_PORT: '70000' })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });
});

describe('model-sandbox main', () => {
  it('starts from the environment, serves, and exits 0 on SIGTERM', async () => {
    const appDir = path.resolve(__dirname, '..');
    const tsx = path.resolve(appDir, '../../node_modules/.bin/tsx');
    const child = spawn(tsx, ['src/main.ts'], {
      cwd: appDir,
      env: { PATH: process.env.PATH ?? '', MODEL_SANDBOX_PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const m = /"url":"(http:\/\/[^"]+)".*model-sandbox ready/.exec(buf);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited early (${code}): ${buf}`)));
      });
      const res = await fetch(`${url}/chat/completions`, {
        method: 'POST',
        headers: AUTH,
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Loop forever' }] }),
      });
      const body = (await res.json()) as Record<string, any>;
      expect(body.choices[0].message.tool_calls[0].function.name).toBe('asaas__get_balance');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
