import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createModelProvider,
  createScriptedModel,
  DEFAULT_FIXTURES_DIR,
  loadScenarios,
  parseScenario,
  renderText,
  renderValue,
  ScenarioError,
} from '@agents/agent';
import type { TemplateContext } from '@agents/agent';
import { silentLogger } from '@agents/observability';

const ctx = (results: Record<string, string>): TemplateContext => ({
  results: new Map(Object.entries(results)),
  now: new Date('2026-02-27T12:00:00Z'),
});

describe('fixture templates', () => {
  const c = ctx({
    asaas__create_payment: JSON.stringify({ id: 'pay_1', value: 50, nested: { list: [{ id: 'a' }, { id: 'b' }] } }),
    wrapped__tool: JSON.stringify({ success: true, data: { id: 'inner_1' }, error: null }),
    mcp__tool: JSON.stringify({ content: [{ type: 'text', text: '{"id":"mcp_1"}' }] }),
    structured__tool: JSON.stringify({ content: [], structuredContent: { id: 'sc_1' } }),
    failing__tool: JSON.stringify({ error: { code: 'not_found', message: 'Payment not found' } }),
    'z-api__send_text': 'not json at all',
  });

  it('keeps the type of a whole-value reference and stringifies inside text', () => {
    expect(renderValue('{{result.asaas__create_payment.value}}', c)).toBe(50);
    expect(renderValue({ a: ['{{ result.asaas__create_payment.nested.list.1.id }}'] }, c)).toEqual({ a: ['b'] });
    expect(renderText('v={{result.asaas__create_payment.value}} n={{result.asaas__create_payment.nested.list.0}}', c)).toBe('v=50 n={"id":"a"}');
    expect(renderValue(7, c)).toBe(7);
    expect(renderValue(null, c)).toBeNull();
  });

  it('looks inside common result wrappers', () => {
    expect(renderValue('{{result.wrapped__tool.id}}', c)).toBe('inner_1');
    expect(renderValue('{{result.mcp__tool.id}}', c)).toBe('mcp_1');
    expect(renderValue('{{result.structured__tool.id}}', c)).toBe('sc_1');
  });

  it('takes the first alternative that resolves, including quoted literals', () => {
    expect(renderText('{{result.failing__tool.error.message || result.failing__tool}}', c)).toBe('Payment not found');
    expect(renderText("{{result.nope__x.id || 'fallback'}}", c)).toBe('fallback');
    expect(renderText('{{result.z-api__send_text.id || result.z-api__send_text}}', c)).toBe('not json at all');
  });

  it('renders unresolved references as null (whole value) or "(unknown)" (text)', () => {
    expect(renderValue('{{result.asaas__create_payment.missing}}', c)).toBeNull();
    expect(renderText('id {{result.never__called.id}}', c)).toBe('id (unknown)');
    expect(renderText('{{what.is.this}}', c)).toBe('(unknown)');
  });

  it('renders dates from the injected clock', () => {
    expect(renderText('{{today}} {{today+3}} {{today-1}}', c)).toBe('2026-02-27 2026-03-02 2026-02-26');
  });
});

describe('scripted model', () => {
  it('takes the first matching scenario; regex and substring matches are case-insensitive', async () => {
    const model = createScriptedModel({
      scenarios: [
        { name: 'regex', match: '/^refund\\s+\\w+$/', turns: [{ content: 'regex won' }] },
        { name: 'substring', match: ['nothing', 'REFUND'], turns: [{ content: 'substring won' }] },
      ],
    });
    const say = async (text: string) => (await model.complete({ model: 'm', messages: [{ role: 'user', content: text }] })).message.content;
    expect(await say('Refund   ORDER')).toBe('regex won');
    expect(await say('please refund order 1')).toBe('substring won');
    expect(await say('nothing to see')).toBe('substring won');
    expect(await say('hello')).toContain('No scripted scenario matched');
  });

  it('matches on the first user message, not later ones, and counts turns by assistant messages', async () => {
    const model = createScriptedModel({
      scenarios: [{ name: 's', match: 'first', turns: [{ content: 'one' }, { content: 'two' }] }],
    });
    const turn = await model.complete({
      model: 'm',
      messages: [
        { role: 'system', content: 'sys mentions second' },
        { role: 'user', content: 'first message' },
        { role: 'assistant', content: 'one' },
        { role: 'user', content: 'second message' },
      ],
    });
    expect(turn.message.content).toBe('two');
  });

  it('uses the most recent result of a function when it was called more than once', async () => {
    const model = createScriptedModel({
      scenarios: [{ name: 's', match: 'x', turns: [{ content: 'a' }, { content: 'a' }, { content: 'last={{result.t__get.id}}' }] }],
    });
    const call = (id: string) => ({
      role: 'assistant' as const,
      content: null,
      tool_calls: [{ id, type: 'function' as const, function: { name: 't__get', arguments: '{}' } }],
    });
    const turn = await model.complete({
      model: 'm',
      messages: [
        { role: 'user', content: 'x' },
        call('c1'),
        { role: 'tool', tool_call_id: 'c1', content: '{"id":"first"}' },
        call('c2'),
        { role: 'tool', tool_call_id: 'c2', content: '{"id":"second"}' },
      ],
    });
    expect(turn.message.content).toBe('last=second');
  });

  it('can reply with text and tool calls in one turn', async () => {
    const model = createScriptedModel({
      scenarios: [{ name: 's', match: 'x', turns: [{ content: 'Working on it', tool_calls: [{ name: 'a__b' }] }] }],
    });
    const turn = await model.complete({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    expect(turn.message.content).toBe('Working on it');
    expect(turn.message.tool_calls?.[0]?.function.arguments).toBe('{}');
    expect(turn.finishReason).toBe('tool_calls');
  });

  it('aborts its latency wait promptly with an AbortError', async () => {
    const model = createScriptedModel({ scenarios: [], latencyMs: 600_000 });
    const ac = new AbortController();
    const p = model.complete({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('validates scenarios with errors that name the problem', () => {
    const bad = (value: unknown) => () => parseScenario(value, 'test.json');
    expect(bad({ name: 'x', match: 'a', turns: [] })).toThrow(ScenarioError);
    expect(bad({ name: 'x', match: 'a', turns: [{}] })).toThrow(/a turn needs tool_calls or content/);
    expect(bad({ name: 'x', match: 'a', turns: [{ tool_calls: [{ name: 'stripe/create_customer' }] }] })).toThrow(/tool name must match/);
    expect(bad({ name: 'x', match: '/(unclosed/', turns: [{ content: 'c' }] })).toThrow(/Invalid match regex/);
    expect(() => createScriptedModel({ scenarios: [{ name: '', match: 'a', turns: [{ content: 'c' }] }] })).toThrow(
      expect.objectContaining({ code: 'invalid_scenario' }),
    );
  });
});

describe('loadScenarios', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'scenarios-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every *.json in name order; a file may hold an array', () => {
    writeFileSync(path.join(dir, 'b.json'), JSON.stringify({ name: 'b', match: 'b', turns: [{ content: 'b' }] }));
    writeFileSync(
      path.join(dir, 'a.json'),
      JSON.stringify([
        { name: 'a1', match: 'a', turns: [{ content: 'a' }] },
        { name: 'a2', match: 'a', turns: [{ content: 'a' }] },
      ]),
    );
    writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    expect(loadScenarios(dir).map((s) => s.name)).toEqual(['a1', 'a2', 'b']);
  });

  it('names the file that is broken and rejects duplicate names', () => {
    writeFileSync(path.join(dir, 'broken.json'), '{ nope');
    expect(() => loadScenarios(dir)).toThrow(/broken\.json is not valid JSON/);
    rmSync(path.join(dir, 'broken.json'));
    writeFileSync(path.join(dir, 'a.json'), JSON.stringify({ name: 'same', match: 'a', turns: [{ content: 'a' }] }));
    writeFileSync(path.join(dir, 'b.json'), JSON.stringify({ name: 'same', match: 'b', turns: [{ content: 'b' }] }));
    expect(() => loadScenarios(dir)).toThrow(/Duplicate scenario name "same"/);
    expect(() => loadScenarios(path.join(dir, 'missing'))).toThrow(/Cannot read scenario fixtures folder/);
  });

  it('defaults to the shipped fixtures folder', () => {
    expect(DEFAULT_FIXTURES_DIR).toMatch(/packages[\\/]agent[\\/]fixtures[\\/]scenarios$/);
    expect(loadScenarios().length).toBeGreaterThanOrEqual(6);
  });
});

describe('createModelProvider (default selection)', () => {
  it('is the scripted model when no OpenAI key is configured', () => {
    expect(createModelProvider({ logger: silentLogger() }).id).toBe('scripted');
    expect(createModelProvider({ openaiApiKey: '', logger: silentLogger() }).id).toBe('scripted');
  });

  it('is the openai provider when a key is configured', () => {
    expect(createModelProvider({ openaiApiKey: 'sk-test', openaiBaseURL: 'http://127.0.0.1:1/v1', logger: silentLogger() }).id).toBe('openai');
  });
});
