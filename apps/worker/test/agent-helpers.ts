/**
 * Shared by the agent end-to-end and crash tests: the seed's two tenants with sandbox credentials,
 * and the test double at the model boundary (the scripted model served over HTTP, with an abortable
 * per-turn delay for inputs that ask to run "slowly", and a log of every request it received).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { createAbortError, createScriptedModel, loadScenarios } from '@agents/agent';
import type { ModelProvider, ModelRequest } from '@agents/agent';
import { createModelServer } from '@agents/model-sandbox';
import type { ModelServer } from '@agents/model-sandbox';
import { silentLogger } from '@agents/observability';
import type { apiClient, waitFor } from '@agents/testkit';

export const LOJA = 'tenant_loja';
export const ACME = 'tenant_acme';
export const LOJA_PIX_INPUT = 'Create a Pix charge of R$50 for Maria Silva (CPF 529.982.247-25) and WhatsApp her the payment link at +55 31 99988-7766';
export const ACME_CARD_INPUT = 'Charge R$150 by card, quote shipping to CEP 30130-000 and issue the NF-e';

export const CREDENTIALS: Record<string, Record<string, Record<string, string>>> = {
  [LOJA]: {
    asaas: { api_key: 'aact_sandbox_loja_agent_key' },
    'z-api': { instance_id: 'zapi-instance-loja-agent', token: 'zapi-token-loja-agent-01', client_token: 'zapi-client-token-agent' },
    'melhor-envio': { token: 'me-token-loja-agent-0001' },
  },
  [ACME]: {
    stripe: { secret_key: 'sk_test_acme_agent_000000001' },
    correios: { username: 'acme-correios-agent', access_code: 'acme-access-code-agent' },
    'nuvem-fiscal': { client_id: 'acme-nf-client-agent', client_secret: 'acme-nf-secret-agent-01' },
  },
};

/** Every credential value, to prove none of them ever reaches the model. */
export const ALL_SECRETS = Object.values(CREDENTIALS).flatMap((servers) => Object.values(servers).flatMap((v) => Object.values(v)));

export async function seedTenants(call: ReturnType<typeof apiClient>): Promise<void> {
  const servers = { [LOJA]: ['asaas', 'melhor-envio', 'z-api'], [ACME]: ['stripe', 'correios', 'nuvem-fiscal'] };
  for (const [id, list] of Object.entries(servers)) {
    const t = await call('POST', '/v1/admin/tenants', {
      body: { id, name: id, servers: list, instructions: `You are the commerce assistant of ${id}. Be brief.` },
    });
    if (t.status !== 201) throw new Error(`seeding ${id}: ${t.status} ${t.text}`);
    for (const [server, values] of Object.entries(CREDENTIALS[id]!)) {
      const c = await call('PUT', `/v1/tenants/${id}/credentials/${server}?environment=live`, { body: { values } });
      if (c.status !== 204) throw new Error(`credentials ${id}/${server}: ${c.status} ${c.text}`);
    }
  }
}

export interface TestModel {
  server: ModelServer;
  /** Every request the model received, as sent. */
  requests: ModelRequest[];
}

/** The scripted model over HTTP; a first user message containing "slowly" waits `slowMs` per turn. */
export async function startTestModel(opts: { slowMs?: number; latencyMs?: number } = {}): Promise<TestModel> {
  const scripted = createScriptedModel({ scenarios: loadScenarios(), ...(opts.latencyMs ? { latencyMs: opts.latencyMs } : {}) });
  const requests: ModelRequest[] = [];
  const model: ModelProvider = {
    id: scripted.id,
    async complete(req, callOpts) {
      requests.push(req);
      const first = req.messages.find((m) => m.role === 'user');
      if (opts.slowMs && typeof first?.content === 'string' && first.content.includes('slowly')) {
        try {
          await delay(opts.slowMs, undefined, callOpts?.signal ? { signal: callOpts.signal } : undefined);
        } catch {
          throw createAbortError();
        }
      }
      return scripted.complete(req, callOpts);
    },
  };
  const server = await createModelServer({ model, logger: silentLogger() });
  return { server, requests };
}

export async function sandboxObjects(
  sandboxUrl: string,
  server: string,
  account: string,
): Promise<Array<{ id: string; object: string; idempotency_key: string | null }>> {
  const res = await fetch(`${sandboxUrl}/sandbox/${server}/objects`, { headers: { 'x-sandbox-account': account } });
  return ((await res.json()) as { data: Array<{ id: string; object: string; idempotency_key: string | null }> }).data;
}

export function terminalJob(call: ReturnType<typeof apiClient>, wait: typeof waitFor) {
  return (tenant: string, jobId: string, timeoutMs = 30_000) =>
    wait(
      async () => {
        const r = await call('GET', `/v1/tenants/${tenant}/jobs/${jobId}`);
        return ['succeeded', 'failed', 'cancelled'].includes(r.body?.status) ? r.body : undefined;
      },
      { what: `job ${jobId} to finish`, timeoutMs },
    );
}
