import { PROVIDERS, toolInputJsonSchema } from '@agents/sandbox-providers';
import { RuntimeError } from './errors';
import { validateTemplates } from './template';
import type { Catalog, CatalogEntry, CredentialField, TransportTemplate } from './catalog-types';

const SERVER_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** How the six sandbox providers are reached: the sandbox's Streamable-HTTP service (default) or its stdio entry. */
export type SandboxTransportOption = 'http' | { type: 'stdio'; command: string; args: string[] };

export interface CatalogOptions {
  /** Base URL of apps/sandbox, e.g. `http://127.0.0.1:4010` (no trailing slash needed). */
  sandboxUrl: string;
  /** Real servers (or overrides are refused: ids must be unique). */
  extraEntries?: CatalogEntry[];
  /** For contract tests and offline demos; `{command, args}` is run with `<server id>` appended. */
  sandboxTransport?: SandboxTransportOption;
  /** Ship the documented official Stripe MCP entry (`stripe-official`); default true. */
  includeStripeOfficial?: boolean;
}

/** `webhook_secret` → `Webhook-Secret` (the sandbox reads `X-Credential-<That>`). */
function headerCase(field: string): string {
  return field
    .split('_')
    .filter((p) => p !== '')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('-');
}

/**
 * Sandbox convention: the first credential field is the bearer token (and names the sandbox
 * account); every other required field travels as `X-Credential-<Field-With-Dashes>`.
 * The stdio entry reads the same fields from `SANDBOX_CREDENTIAL_<FIELD>`.
 */
export function sandboxTransportFor(
  id: string,
  fields: readonly CredentialField[],
  sandboxUrl: string,
  option: SandboxTransportOption = 'http',
): TransportTemplate {
  const required = fields.filter((f, i) => i === 0 || f.required);
  if (option === 'http') {
    const headers: Record<string, string> = {};
    required.forEach((f, i) => {
      if (i === 0) headers['Authorization'] = `Bearer {{${f.name}}}`;
      else headers[`X-Credential-${headerCase(f.name)}`] = `{{${f.name}}}`;
    });
    return { type: 'http', url: `${sandboxUrl.replace(/\/+$/, '')}/mcp/${id}`, headers };
  }
  const env: Record<string, string> = {};
  for (const f of required) env[`SANDBOX_CREDENTIAL_${f.name.toUpperCase()}`] = `{{${f.name}}}`;
  return { type: 'stdio', command: option.command, args: [...option.args, id], env };
}

export function sandboxEntries(sandboxUrl: string, option: SandboxTransportOption = 'http'): CatalogEntry[] {
  return PROVIDERS.map((p) => {
    const fields: CredentialField[] = p.credentialFields.map((f) => ({
      name: f.name,
      secret: f.secret,
      required: f.required,
    }));
    return {
      id: p.id,
      name: p.name,
      description: p.description,
      category: p.category,
      sandbox: true,
      credential_fields: fields,
      tools: p.tools.map((t) => ({ name: t.name, description: t.description, input_schema: toolInputJsonSchema(t) })),
      transport: sandboxTransportFor(p.id, fields, sandboxUrl, option),
    };
  });
}

/**
 * The official Stripe MCP server (npm `@stripe/mcp`, repo stripe/ai). Since 0.3.x it is a stdio
 * proxy to https://mcp.stripe.com; it takes the key from `STRIPE_SECRET_KEY` (env, so the key is
 * not visible in `ps`), accepts `sk_…` or — recommended — restricted `rk_…` keys whose permissions
 * decide which tools exist (the old `--tools=all` flag was removed and only prints a warning).
 * Pinned so a new upstream release cannot change the tool surface under a running deployment.
 * Needs outbound network to the npm registry (first start) and to mcp.stripe.com.
 */
export function stripeOfficialEntry(): CatalogEntry {
  const tools = [
    'create_customer',
    'list_customers',
    'create_product',
    'list_products',
    'create_price',
    'list_prices',
    'create_payment_link',
    'create_invoice',
    'create_invoice_item',
    'finalize_invoice',
    'list_invoices',
    'retrieve_balance',
    'create_refund',
    'list_payment_intents',
    'list_subscriptions',
    'cancel_subscription',
    'update_subscription',
    'list_coupons',
    'create_coupon',
    'list_disputes',
    'update_dispute',
  ];
  return {
    id: 'stripe-official',
    name: 'Stripe (official MCP)',
    description:
      "Stripe's official MCP server (@stripe/mcp) with the tenant's own restricted or secret key; the live tool list depends on the key's permissions.",
    category: 'payments',
    sandbox: false,
    credential_fields: [{ name: 'secret_key', secret: true, required: true }],
    tools: tools.map((name) => ({ name, description: `Stripe ${name.replace(/_/g, ' ')}` })),
    transport: {
      type: 'stdio',
      command: 'npx',
      args: ['-y', '@stripe/mcp@0.3.3'],
      env: { STRIPE_SECRET_KEY: '{{secret_key}}' },
    },
  };
}

function validateEntry(entry: CatalogEntry): void {
  if (!SERVER_ID.test(entry.id)) {
    throw new RuntimeError('invalid_catalog_entry', `catalog entry id "${entry.id}" must match ${SERVER_ID}`);
  }
  const names = new Set<string>();
  for (const f of entry.credential_fields) {
    if (!/^[a-z][a-z0-9_]*$/.test(f.name) || names.has(f.name)) {
      throw new RuntimeError('invalid_catalog_entry', `catalog entry ${entry.id}: bad or duplicate credential field "${f.name}"`);
    }
    names.add(f.name);
  }
  validateTemplates(entry);
}

export function createCatalog(opts: CatalogOptions): Catalog {
  const entries: CatalogEntry[] = [
    ...sandboxEntries(opts.sandboxUrl, opts.sandboxTransport ?? 'http'),
    ...(opts.includeStripeOfficial === false ? [] : [stripeOfficialEntry()]),
    ...(opts.extraEntries ?? []),
  ];
  const byId = new Map<string, CatalogEntry>();
  for (const e of entries) {
    validateEntry(e);
    if (byId.has(e.id)) throw new RuntimeError('invalid_catalog_entry', `duplicate catalog entry id "${e.id}"`);
    // Frozen copies: a caller mutating what list() returned must not change what sessions connect to.
    byId.set(e.id, deepFreeze(structuredClone(e)));
  }
  const list = [...byId.values()];
  return {
    list: () => list,
    get: (id) => byId.get(id),
  };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
