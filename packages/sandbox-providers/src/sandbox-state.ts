import { ProviderError, SandboxError } from './provider-error';
import type { ProviderModule } from './provider-module';
import { getProviderModule } from './registry';
import type { PreparedWebhook, ProviderId, ProviderObject, SandboxObjectView, SimulateAction, ToolContext, ToolResult, WebhookConfig } from './types';
import { SIMULATE_ACTIONS } from './types';
import { isWellFormedCredential } from './validators';
import { prepareWebhook } from './webhook-signing';

export interface SandboxStateOptions {
  /** Clock for `created`/`created_at` fields and webhook timestamps; tests pass a fixed one. */
  now?: () => Date;
}

/** Credential values by catalog field name (`secret_key`, `client_secret`...); absent = undefined. */
export type CredentialValues = Readonly<Record<string, string | undefined>>;

export interface CallToolOptions {
  credentials: CredentialValues;
  idempotencyKey?: string | null;
}

export interface ToolCallOutcome {
  /** The account the call acted on, or null when the naming credential was missing or malformed. */
  account: string | null;
  result: ToolResult;
  /** Signed webhooks the call caused (empty unless the account configured one); the caller sends them. */
  webhooks: PreparedWebhook[];
  /** True when an idempotency key matched an earlier call and its stored result was returned. */
  replayed: boolean;
}

export interface SimulateOutcome {
  object: ProviderObject;
  webhooks: PreparedWebhook[];
}

export interface SandboxState {
  /** Authenticates, validates, applies idempotency and runs one tool; never throws for provider errors. */
  callTool(server: ProviderId, tool: string, args: unknown, opts: CallToolOptions): ToolCallOutcome;
  /** Every object the account created on that server, in creation order. */
  listObjects(server: ProviderId, account: string): SandboxObjectView[];
  /** Runs a simulation control; throws SandboxError (404 unknown id, 400 bad action or transition). */
  simulate(server: ProviderId, account: string, action: string, id: string): SimulateOutcome;
  setWebhook(server: ProviderId, account: string, config: WebhookConfig): void;
  getWebhook(server: ProviderId, account: string): WebhookConfig | undefined;
  /** Drops every partition (all servers, all accounts). */
  clear(): void;
}

interface StoredRecord {
  id: string;
  object: string;
  statusField: string | undefined;
  idempotencyKey: string | null;
  createdAt: string;
  data: ProviderObject;
}

interface Partition {
  counters: Map<string, number>;
  /** Insertion-ordered, keyed by `${object}:${id}` so ids only need to be unique per type. */
  records: Map<string, StoredRecord>;
  idempotency: Map<string, { tool: string; result: ToolResult }>;
  webhook: WebhookConfig | undefined;
}

export function createSandboxState(opts: SandboxStateOptions = {}): SandboxState {
  const now = opts.now ?? (() => new Date());
  const partitions = new Map<string, Partition>();

  function partition(server: ProviderId, account: string): Partition {
    // JSON of a tuple: no separator character an account value could forge.
    const key = JSON.stringify([server, account]);
    let p = partitions.get(key);
    if (!p) {
      p = { counters: new Map(), records: new Map(), idempotency: new Map(), webhook: undefined };
      partitions.set(key, p);
    }
    return p;
  }

  function makeContext(mod: ProviderModule, account: string, p: Partition, idempotencyKey: string | null, at: Date, events: PreparedWebhook[]): ToolContext {
    return {
      server: mod.definition.id,
      account,
      now: at,
      idempotencyKey,
      next(counter) {
        const n = (p.counters.get(counter) ?? 0) + 1;
        p.counters.set(counter, n);
        return n;
      },
      insert(object, id, data, statusField) {
        p.records.set(`${object}:${id}`, {
          id,
          object,
          statusField,
          idempotencyKey,
          createdAt: at.toISOString(),
          data,
        });
        return data;
      },
      find(object, id) {
        return p.records.get(`${object}:${id}`)?.data;
      },
      list(object) {
        const out: ProviderObject[] = [];
        for (const r of p.records.values()) if (r.object === object) out.push(r.data);
        return out;
      },
      emit(event) {
        if (!p.webhook) return;
        const name = String(event.type ?? event.event ?? 'event');
        events.push(prepareWebhook(mod.webhookScheme, p.webhook, name, event, at));
      },
    };
  }

  function callTool(server: ProviderId, toolName: string, args: unknown, opts: CallToolOptions): ToolCallOutcome {
    const mod = getProviderModule(server);
    const fields = mod.definition.credentialFields;
    const first = fields[0];
    const accountValue = first ? opts.credentials[first.name] : undefined;
    const account = isWellFormedCredential(accountValue) ? accountValue : null;
    const noEvents: PreparedWebhook[] = [];

    const credentialsOk =
      account !== null &&
      fields.every((f) => {
        const v = opts.credentials[f.name];
        return v === undefined ? !f.required : isWellFormedCredential(v);
      });
    if (!credentialsOk) return { account, result: errorResult(mod.unauthorized()), webhooks: noEvents, replayed: false };

    const tool = mod.definition.tools.find((t) => t.name === toolName);
    if (!tool) {
      const err = new ProviderError('unknown_tool', `Unknown tool: ${toolName}`, 404);
      return { account, result: errorResult(err), webhooks: noEvents, replayed: false };
    }

    const p = partition(server, account);
    const key = opts.idempotencyKey ?? null;
    if (key !== null) {
      const stored = p.idempotency.get(key);
      if (stored) {
        if (stored.tool !== toolName) {
          const err = new ProviderError(
            'idempotency_key_reused',
            `Idempotency key was already used with tool ${stored.tool}; use a new key for a different call.`,
            400,
          );
          return { account, result: errorResult(err), webhooks: noEvents, replayed: false };
        }
        return { account, result: structuredClone(stored.result), webhooks: noEvents, replayed: true };
      }
    }

    const parsed = tool.inputSchema.safeParse(args ?? {});
    if (!parsed.success) {
      return { account, result: errorResult(mod.invalidInput(parsed.error.issues)), webhooks: noEvents, replayed: false };
    }

    const events: PreparedWebhook[] = [];
    const ctx = makeContext(mod, account, p, key, now(), events);
    let result: ToolResult;
    try {
      result = successResult(tool.handler(parsed.data, ctx));
    } catch (err) {
      if (err instanceof ProviderError) return { account, result: errorResult(err), webhooks: noEvents, replayed: false };
      throw err;
    }
    // Only successes are remembered: a failed call created nothing, so a retry may legitimately succeed.
    if (key !== null) p.idempotency.set(key, { tool: toolName, result: structuredClone(result) });
    return { account, result, webhooks: events, replayed: false };
  }

  function listObjects(server: ProviderId, account: string): SandboxObjectView[] {
    getProviderModule(server);
    const p = partitions.get(JSON.stringify([server, account]));
    if (!p) return [];
    return [...p.records.values()].map((r) => {
      const view: SandboxObjectView = {
        ...structuredClone(r.data),
        id: r.id,
        object: r.object,
        idempotency_key: r.idempotencyKey,
        created_at: r.createdAt,
      };
      const status = r.statusField ? r.data[r.statusField] : undefined;
      if (typeof status === 'string') view.status = status;
      else delete view.status;
      return view;
    });
  }

  function simulate(server: ProviderId, account: string, action: string, id: string): SimulateOutcome {
    const mod = getProviderModule(server);
    if (!(SIMULATE_ACTIONS as readonly string[]).includes(action)) {
      throw new SandboxError('invalid_action', `Unknown action '${action}'; expected one of ${SIMULATE_ACTIONS.join(', ')}.`, 400);
    }
    const handler = mod.simulations[action as SimulateAction];
    if (!handler) {
      const supported = Object.keys(mod.simulations).join(', ');
      throw new SandboxError('invalid_action', `Action '${action}' does not apply to ${server}; it supports: ${supported}.`, 400);
    }
    const events: PreparedWebhook[] = [];
    const ctx = makeContext(mod, account, partition(server, account), null, now(), events);
    const object = structuredClone(handler(ctx, id));
    return { object, webhooks: events };
  }

  return {
    callTool,
    listObjects,
    simulate,
    setWebhook(server, account, config) {
      getProviderModule(server);
      partition(server, account).webhook = { url: config.url, secret: config.secret };
    },
    getWebhook(server, account) {
      return partitions.get(JSON.stringify([server, account]))?.webhook;
    },
    clear() {
      partitions.clear();
    },
  };
}

function successResult(obj: ProviderObject): ToolResult {
  // Snapshot: later state changes must not alter a result already returned or stored for replay.
  const snapshot = structuredClone(obj);
  return { content: [{ type: 'text', text: JSON.stringify(snapshot) }], structuredContent: snapshot };
}

export function errorResult(err: ProviderError): ToolResult {
  const body = err.toJSON();
  return { content: [{ type: 'text', text: JSON.stringify(body) }], structuredContent: body, isError: true };
}
