import type { CredentialStore, SessionRow } from '@agents/db';
import { assignModelNames } from '@agents/runtime';
import type { Catalog } from '@agents/runtime';

/** The built-in tool every session has: the session's tool list, as `connections` gives it. */
export const LIST_TOOLS = 'codespar_list_tools';

export interface SessionTool {
  /** `<server>__<tool>` (or the runtime's deterministic OpenAI-valid form when that is not valid or unique). */
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
  server: string;
}

export interface SessionServer {
  id: string;
  name: string;
  category: string;
  auth_type: 'api_key';
  /** Whether the tenant has credentials for it in the session's environment. */
  connected: boolean;
}

export interface SessionConnections {
  servers: SessionServer[];
  tools: SessionTool[];
}

/** A schema OpenAI accepts as `parameters`: the tool's own when it is an object schema. */
function objectSchema(schema: Record<string, unknown> | undefined): Record<string, unknown> {
  return schema && schema.type === 'object' ? schema : { type: 'object', properties: {} };
}

/**
 * Exactly the session's servers' tools, named as the worker's runtime names them (the same
 * function over the same table: a name taken from here resolves there), from the catalog alone:
 * listing tools contacts no provider and decrypts no credential. A server whose entry lists no
 * tools (one discovered at connect time) contributes none here.
 */
export function sessionTools(catalog: Pick<Catalog, 'get'>, session: Pick<SessionRow, 'servers'>): SessionTool[] {
  const entries = session.servers.flatMap((server) =>
    (catalog.get(server)?.tools ?? []).map((t) => ({ server, tool: t.name, description: t.description, input_schema: objectSchema(t.input_schema) })),
  );
  entries.sort((a, b) => (`${a.server}/${a.tool}` < `${b.server}/${b.tool}` ? -1 : 1));
  const names = assignModelNames(entries);
  return entries.map((e) => ({ name: names.get(`${e.server}/${e.tool}`)!, description: e.description, input_schema: e.input_schema, server: e.server }));
}

/** GET /v1/sessions/{id}/connections. */
export async function sessionConnections(
  deps: { catalog: Pick<Catalog, 'get'>; credentials: Pick<CredentialStore, 'list'> },
  session: Pick<SessionRow, 'tenant_id' | 'environment' | 'servers'>,
): Promise<SessionConnections> {
  const stored = await deps.credentials.list(session.tenant_id);
  const servers = session.servers.map((id) => {
    const entry = deps.catalog.get(id);
    return {
      id,
      name: entry?.name ?? id,
      category: entry?.category ?? 'other',
      auth_type: 'api_key' as const,
      connected: stored.some((c) => c.server === id && c.environment === session.environment),
    };
  });
  return { servers, tools: sessionTools(deps.catalog, session) };
}
