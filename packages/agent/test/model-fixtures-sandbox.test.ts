import { createSandboxState } from '@agents/sandbox-providers';
import type { ProviderId } from '@agents/sandbox-providers';
import { createScriptedModel, loadScenarios } from '@agents/agent';
import { driveConversation } from './model-contract';

/**
 * The shipped demo scenarios played against the real sandbox providers (in process, no MCP):
 * proves the fixtures' arguments pass the providers' schemas and business rules, and that the
 * templates find the ids in real tool results. What the agent loop puts in a tool message may be
 * the whole MCP result or just its structured part, so both are exercised.
 */
const CREDENTIALS: Record<string, Record<string, string>> = {
  asaas: { api_key: 'loja_asaas_key_01' },
  'z-api': { instance_id: 'loja_instance_01', token: 'loja_zapi_token_01', client_token: 'loja_zapi_client_01' },
  'melhor-envio': { token: 'loja_me_token_0001' },
  stripe: { secret_key: 'sk_test_acme_000001' },
  correios: { username: 'acme_correios_01', access_code: 'acme_access_code_01' },
  'nuvem-fiscal': { client_id: 'acme_nf_client_01', client_secret: 'acme_nf_secret_01' },
};
const NOW = new Date('2026-11-28T07:00:00.000Z');

type Shape = 'mcp-result' | 'structured';

function setup(shape: Shape) {
  const state = createSandboxState({ now: () => NOW });
  const model = createScriptedModel({ scenarios: loadScenarios(), now: () => NOW });
  const failures: string[] = [];
  const tool = (name: string, args: Record<string, unknown>) => {
    const [server, fn] = name.split('__') as [ProviderId, string];
    const out = state.callTool(server, fn, args, { credentials: CREDENTIALS[server] ?? {} });
    if (out.result.isError) failures.push(name);
    return shape === 'mcp-result' ? out.result : out.result.structuredContent;
  };
  return { model, tool, failures };
}

describe.each<Shape>(['mcp-result', 'structured'])('demo scenarios against the sandbox providers (%s)', (shape) => {
  it('tenant_loja: Pix charge and WhatsApp, every call succeeds', async () => {
    const { model, tool, failures } = setup(shape);
    const run = await driveConversation(
      model,
      'Create a Pix charge of R$50 for Maria Silva (CPF 529.982.247-25) and WhatsApp her the payment link at +55 31 99988-7766',
      tool,
    );
    expect(failures).toEqual([]);
    expect(run.calls.map((c) => c.name)).toHaveLength(4);
    expect(run.final.message.content).toMatch(/Pix charge pay_\d{6} of R\$50\.00 .* customer cus_\d{6}\), due 2026-11-29/);
    expect(run.final.message.content).not.toContain('(unknown)');
  });

  it('tenant_acme: card charge, shipping quote and NF-e, every call succeeds', async () => {
    const { model, tool, failures } = setup(shape);
    const run = await driveConversation(model, 'Charge R$150 by card, quote shipping to CEP 30130-000 and issue the NF-e', tool);
    expect(failures).toEqual([]);
    expect(run.final.message.content).toMatch(/PaymentIntent pi_\d{6}, status succeeded/);
    expect(run.final.message.content).toMatch(/SEDEX R\$ \d+,\d{2}, PAC R\$ \d+,\d{2}/);
    expect(run.final.message.content).toMatch(/NF-e nfe_\d{6} \(status \w+, key \d{44}\)/);
  });

  it('failing-tool scenarios explain the provider error', async () => {
    const { model, tool, failures } = setup(shape);
    const refund = await driveConversation(model, 'Refund payment pay_does_not_exist', tool);
    expect(refund.final.message.content).toContain('Cobrança pay_does_not_exist não encontrada.');
    const declined = await driveConversation(model, 'Charge R$99 with the declined test card', tool);
    expect(declined.final.message.content).toContain('Your card was declined');
    expect(failures).toEqual(['asaas__refund_payment', 'stripe__confirm_payment_intent']);
  });
});
