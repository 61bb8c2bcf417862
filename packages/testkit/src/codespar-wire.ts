import { parseSseFrames } from './sse';
import type { SseFrame } from './sse';

/**
 * A client of the session API written from CodeSpar's wire contract (API.md "Sessions";
 * shared/reference/codespar-surface.md), doing what `@codespar/sdk` + `@codespar/openai` do on
 * the wire: the same bodies, the same reading of answers. Ours, because the SDK is not installable
 * here; tests, the demo and the sessions benchmark drive the API with it as a user's app would.
 * - the key must start with `csk_` (the SDK refuses any other before sending anything);
 * - `create(userId, {servers})` posts exactly `{"servers": [...], "user_id": userId}`;
 * - `execute` never throws for an HTTP error: a non-2xx becomes `{success: false, error: "<status>: <body text>"}`;
 * - `connections` is best effort: a non-2xx gives no tools;
 * - an error body is read for its top-level `code` / `message` only;
 * - event streams are split on "\n\n", fields on "\n"; a frame needs its `event:` line.
 */
export interface WireToolResult {
  success: boolean;
  data: unknown;
  error: string | null;
  error_code?: string | null;
  duration: number;
  server: string;
  tool: string;
  tool_call_id?: string;
  called_at?: string;
}

export interface WireTool {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
  server: string;
}

export interface WireSession {
  id: string;
  /** The create answer as received. */
  created: Record<string, any>;
  execute(tool: string, params?: Record<string, unknown>): Promise<WireToolResult>;
  connections(): Promise<{ servers: Record<string, any>[]; tools: WireTool[] }>;
  /** The session's tools (fetched once through connections, then cached, as the SDK does). */
  tools(): Promise<WireTool[]>;
  send(message: string): Promise<{ status: number; body: any; headers: Headers }>;
  /** `send` with Accept: text/event-stream: every frame, in order, until the server ends the stream. */
  sendStream(message: string): Promise<{ status: number; frames: SseFrame[]; events: { event: string; data: any }[]; headers: Headers }>;
  close(): Promise<void>;
}

export class WireApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** The OpenAI function-tool definitions @codespar/openai's getTools builds: name, description and input_schema verbatim. */
export async function wireGetTools(session: WireSession) {
  return (await session.tools()).map((t) => ({
    type: 'function' as const,
    function: { name: t.name, description: t.description, parameters: t.input_schema },
  }));
}

/**
 * The multi-tenant template's 2-argument `handleToolCall(session, toolCall)`: the whole OpenAI
 * tool-call object reaches `execute` as its name, so it is posted as `{"tool": <object>}`.
 */
export async function wireHandleToolCall(session: WireSession, toolCall: { id: string; type: 'function'; function: { name: string; arguments: string } }) {
  return session.execute(toolCall as unknown as string);
}

export function codesparWire(opts: { baseUrl: string; apiKey: string }) {
  if (!opts.apiKey.startsWith('csk_')) throw new Error('CodeSpar API keys start with csk_');
  const headers = { authorization: `Bearer ${opts.apiKey}`, 'content-type': 'application/json' };
  const url = (p: string) => `${opts.baseUrl.replace(/\/$/, '')}${p}`;

  async function failure(what: string, res: Response): Promise<WireApiError> {
    const text = await res.text();
    let code: string | undefined;
    let message: string | undefined;
    try {
      const body = JSON.parse(text) as Record<string, unknown>;
      code = typeof body.code === 'string' ? body.code : typeof body.error === 'string' ? body.error : undefined;
      message = typeof body.message === 'string' ? body.message : undefined;
    } catch {
      // Not JSON: the raw text goes in the message.
    }
    return new WireApiError(res.status, code, `${what} failed: ${res.status}${message ? ` — ${message}` : code ? ` — ${code}` : ` ${text}`}`);
  }

  return {
    async create(userId: string, config: { servers?: string[] } = {}): Promise<WireSession> {
      const res = await fetch(url('/v1/sessions'), { method: 'POST', headers, body: JSON.stringify({ servers: config.servers ?? [], user_id: userId }) });
      if (!res.ok) throw await failure('createSession', res);
      const created = (await res.json()) as Record<string, any>;
      const id = String(created.id);
      let cachedTools: WireTool[] | undefined;
      const session: WireSession = {
        id,
        created,
        async execute(tool, params) {
          const started = Date.now();
          const body = typeof tool === 'string' ? { tool, input: params ?? {} } : { tool };
          const res = await fetch(url(`/v1/sessions/${id}/execute`), { method: 'POST', headers, body: JSON.stringify(body) });
          if (!res.ok) {
            const text = await res.text();
            return {
              success: false,
              data: null,
              error: `${res.status}: ${text}`,
              duration: Date.now() - started,
              server: '',
              tool: String(typeof tool === 'string' ? tool : ''),
            };
          }
          return (await res.json()) as WireToolResult;
        },
        async connections() {
          const res = await fetch(url(`/v1/sessions/${id}/connections`), { headers });
          if (!res.ok) return { servers: [], tools: cachedTools ?? [] };
          const body = (await res.json()) as { servers: Record<string, any>[]; tools?: WireTool[] };
          if (body.tools) cachedTools = body.tools;
          return { servers: body.servers, tools: body.tools ?? [] };
        },
        async tools() {
          if (cachedTools) return cachedTools;
          await session.connections();
          return cachedTools ?? [];
        },
        async send(message) {
          const res = await fetch(url(`/v1/sessions/${id}/send`), {
            method: 'POST',
            headers: { ...headers, accept: 'application/json' },
            body: JSON.stringify({ message }),
          });
          return { status: res.status, body: await res.json(), headers: res.headers };
        },
        async sendStream(message) {
          const res = await fetch(url(`/v1/sessions/${id}/send`), {
            method: 'POST',
            headers: { ...headers, accept: 'text/event-stream' },
            body: JSON.stringify({ message }),
          });
          const frames: SseFrame[] = [];
          let rest = '';
          const decoder = new TextDecoder();
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            const parsed = parseSseFrames(rest + decoder.decode(chunk, { stream: true }));
            frames.push(...parsed.frames);
            rest = parsed.rest;
          }
          const events = frames.filter((f) => f.event !== undefined).map((f) => ({ event: f.event!, data: JSON.parse(f.data ?? 'null') }));
          return { status: res.status, frames, events, headers: res.headers };
        },
        async close() {
          const res = await fetch(url(`/v1/sessions/${id}`), { method: 'DELETE', headers });
          if (!res.ok && res.status !== 404) throw await failure('close', res);
        },
      };
      return session;
    },
    /** The seed's billing cron: GET /v1/usage, then count tool calls per `metadata.tenant_id`. */
    async usageByTenant(query = ''): Promise<Record<string, number>> {
      const res = await fetch(url(`/v1/usage${query}`), { headers });
      if (!res.ok) throw await failure('usage', res);
      const data = (await res.json()) as { tool_calls: { metadata: { tenant_id: string } }[] };
      return data.tool_calls.reduce<Record<string, number>>((acc, call) => {
        acc[call.metadata.tenant_id] = (acc[call.metadata.tenant_id] ?? 0) + 1;
        return acc;
      }, {});
    },
  };
}

export type CodesparWire = ReturnType<typeof codesparWire>;
