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
];

export const JOBS = [
  {
    tenant: 'tenant_loja',
    label: 'workflow: Pix charge + WhatsApp',
    body: {
      type: 'workflow',
      metadata: { order_id: 'LOJA-1001' },
      steps: [
        { tool: 'asaas/create_customer', args: { name: 'Maria Silva', cpfCnpj: '52998224725', mobilePhone: '11987654321' } },
        { tool: 'asaas/create_payment', args: { customer: '{{steps.0.data.id}}', billingType: 'PIX', value: 50, dueDate: '2026-12-05', description: 'Pedido LOJA-1001' } },
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
];
