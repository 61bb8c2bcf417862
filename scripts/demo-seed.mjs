import { readFileSync } from 'node:fs';

/** A due date the sandbox accepts whenever the demo runs (it refuses dates in the past). */
function daysFromNow(days) {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

// The seed's tenants, their sandbox credentials and the jobs the demo submits.
// Credential values are sandbox accounts (any 8–200 printable characters name an account there).
export const TENANTS = [
  {
    tenant: {
      id: 'tenant_acme',
      name: 'Acme Ltda',
      servers: ['stripe', 'correios', 'nuvem-fiscal'],
      instructions: 'You are the commerce assistant of Acme Ltda. Charge, ship and invoice exactly as asked.',
      plan: { currency: 'BRL', base_fee: 99, price_per_tool_call: 0.05, price_per_1k_tokens: 0.02, included_tool_calls: 1000 },
    },
    credentials: {
      stripe: { secret_key: 'sk_test_acme_demo_000000000001' },
      correios: { username: 'acme-correios-demo', access_code: 'acme-access-code-01' },
      'nuvem-fiscal': { client_id: 'acme-nf-client-demo', client_secret: 'acme-nf-secret-demo-01' },
    },
  },
  {
    tenant: {
      id: 'tenant_loja',
      name: 'Loja Exemplo',
      servers: ['asaas', 'melhor-envio', 'z-api'],
      instructions: 'You are the commerce assistant of Loja Exemplo. Be brief and always confirm payment ids.',
      plan: { currency: 'BRL', base_fee: 49, price_per_tool_call: 0.04, price_per_1k_tokens: 0.02, included_tool_calls: 500 },
    },
    credentials: {
      asaas: { api_key: 'aact_sandbox_loja_demo_0001' },
      'melhor-envio': { token: 'me-token-loja-demo-0001' },
      'z-api': { instance_id: 'zapi-instance-loja-01', token: 'zapi-token-loja-0001', client_token: 'zapi-client-token-01' },
    },
  },
  // The full chain for provider-webhook automations: Asaas "customer paid" → NF-e → shipment → WhatsApp.
  {
    tenant: {
      id: 'tenant_full',
      name: 'Loja Completa Ltda',
      servers: ['asaas', 'nuvem-fiscal', 'melhor-envio', 'z-api'],
      instructions: 'You are the commerce assistant of Loja Completa.',
    },
    credentials: {
      // webhook_secret: the token Asaas echoes in `asaas-access-token`; /hooks/tenant_full/asaas checks it.
      asaas: { api_key: 'aact_sandbox_full_demo_0001', webhook_secret: 'asaas-webhook-token-full-demo' },
      'nuvem-fiscal': { client_id: 'full-nf-client-demo', client_secret: 'full-nf-secret-demo-01' },
      'melhor-envio': { token: 'me-token-full-demo-0001' },
      'z-api': { instance_id: 'zapi-instance-full-01', token: 'zapi-token-full-0001', client_token: 'zapi-client-token-02' },
    },
  },
];

/**
 * Automations per tenant (PUT /v1/tenants/{tid}/automations). tenant_full's, on payment.confirmed
 * and with no model: look up the payer, issue the NF-e, ship with the NF-e access key, buy and
 * generate the label, read the tracking code and WhatsApp it to the payer. `{{event.*}}` is the
 * normalised event, `{{steps.N.data.*}}` an earlier step's result. Asaas keeps no city name for a
 * customer, so the destination city is fixed (Melhor Envio requires one). It lives in a JSON
 * fixture because apps/worker/test/automations.e2e.test.ts runs the same automation.
 */
export const AUTOMATIONS = {
  tenant_full: [JSON.parse(readFileSync(new URL('./fixtures/tenant-full-automation.json', import.meta.url), 'utf8'))],
};

/** The "customer paid" demo: who pays, and the sandbox accounts (first credential field) to read objects from. */
export const AUTOMATION_DEMO = {
  tenant: 'tenant_full',
  customer: {
    name: 'Maria Silva',
    cpfCnpj: '52998224725',
    mobilePhone: '31999887766',
    address: 'Av. Afonso Pena',
    addressNumber: '1500',
    province: 'Centro',
    postalCode: '30130005',
  },
  value: 149.9,
  accounts: {
    asaas: 'aact_sandbox_full_demo_0001',
    'nuvem-fiscal': 'full-nf-client-demo',
    'melhor-envio': 'me-token-full-demo-0001',
    'z-api': 'zapi-instance-full-01',
  },
  webhookSecret: 'asaas-webhook-token-full-demo',
};

export const JOBS = [
  {
    tenant: 'tenant_loja',
    label: 'workflow: Pix charge + WhatsApp',
    body: {
      type: 'workflow',
      metadata: { order_id: 'LOJA-1001' },
      steps: [
        { tool: 'asaas/create_customer', args: { name: 'Maria Silva', cpfCnpj: '52998224725', mobilePhone: '11987654321' } },
        {
          tool: 'asaas/create_payment',
          args: { customer: '{{steps.0.data.id}}', billingType: 'PIX', value: 50, dueDate: daysFromNow(7), description: 'Pedido LOJA-1001' },
        },
        { tool: 'z-api/send_text', args: { phone: '5511987654321', message: 'Olá Maria! Sua cobrança Pix {{steps.1.data.id}} de R$ 50,00 está pronta.' } },
      ],
    },
  },
  {
    tenant: 'tenant_acme',
    label: 'workflow: card charge + shipping quote',
    body: {
      type: 'workflow',
      metadata: { order_id: 'ACME-2001' },
      steps: [
        { tool: 'stripe/create_customer', args: { name: 'João Souza', email: 'joao@example.com' } },
        { tool: 'stripe/create_payment_intent', args: { amount: 15000, currency: 'brl', customer: '{{steps.0.data.id}}' } },
        { tool: 'stripe/confirm_payment_intent', args: { id: '{{steps.1.data.id}}', payment_method: 'pm_card_visa' } },
        { tool: 'correios/calculate_shipping', args: { cepOrigem: '01310100', cepDestino: '30130000', peso: 1000 } },
      ],
    },
  },
  // Agent jobs: the model (scripted when OPENAI_API_KEY is unset) picks the tools; the demo prints its reply.
  {
    tenant: 'tenant_loja',
    label: 'agent: Pix charge + WhatsApp',
    body: {
      type: 'agent',
      input: 'Create a Pix charge of R$50 for Maria Silva (CPF 529.982.247-25) and WhatsApp her the payment link at +55 31 99988-7766',
      metadata: { order_id: 'LOJA-1002' },
    },
  },
  {
    tenant: 'tenant_acme',
    label: 'agent: card charge + shipping quote + NF-e',
    body: {
      type: 'agent',
      input: 'Charge R$150 by card, quote shipping to CEP 30130-000 and issue the NF-e',
      metadata: { order_id: 'ACME-2002' },
    },
  },
];
