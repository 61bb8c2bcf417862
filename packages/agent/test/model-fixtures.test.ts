import { createScriptedModel, loadScenarios } from '@agents/agent';
import type { Scenario } from '@agents/agent';

/** The sandbox providers' tools (apps/sandbox), as model-facing `<server>__<tool>` names. */
const TOOLS: Record<string, string[]> = {
  stripe: [
    'create_customer',
    'retrieve_customer',
    'create_payment_intent',
    'confirm_payment_intent',
    'retrieve_payment_intent',
    'cancel_payment_intent',
    'list_payment_intents',
    'create_refund',
    'retrieve_balance',
  ],
  asaas: ['create_customer', 'get_customer', 'create_payment', 'get_payment', 'list_payments', 'get_pix_qrcode', 'refund_payment', 'get_balance'],
  'nuvem-fiscal': ['create_nfe', 'get_nfe', 'cancel_nfe', 'create_nfse', 'get_nfse'],
  correios: ['find_cep', 'calculate_shipping', 'get_delivery_time', 'create_prepost', 'get_prepost', 'track_package'],
  'melhor-envio': ['calculate_shipping', 'create_shipment', 'checkout_cart', 'generate_label', 'print_label', 'track_shipment', 'cancel_shipment'],
  'z-api': ['send_text', 'send_document', 'check_number', 'get_status', 'get_messages'],
};
const TENANT_SERVERS: Record<string, string[]> = {
  tenant_loja: ['asaas', 'melhor-envio', 'z-api'],
  tenant_acme: ['stripe', 'correios', 'nuvem-fiscal'],
};
/** Scenarios that deliberately call outside their tenant's servers. */
const OUT_OF_SESSION = new Set(['test-out-of-session-tool']);

function toolNames(s: Scenario): string[] {
  return s.turns.flatMap((t) => (t.tool_calls ?? []).map((c) => c.name));
}

function validCpf(cpf: string): boolean {
  if (!/^\d{11}$/.test(cpf) || /^(\d)\1+$/.test(cpf)) return false;
  const d = cpf.split('').map(Number);
  const check = (len: number) => {
    const sum = d.slice(0, len).reduce((acc, n, i) => acc + n * (len + 1 - i), 0);
    const r = (sum * 10) % 11;
    return r === 10 ? 0 : r;
  };
  return check(9) === d[9] && check(10) === d[10];
}

function validCnpj(cnpj: string): boolean {
  if (!/^\d{14}$/.test(cnpj)) return false;
  const d = cnpj.split('').map(Number);
  const check = (len: number) => {
    const weights = len === 12 ? [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2] : [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    const r = d.slice(0, len).reduce((acc, n, i) => acc + n * weights[i]!, 0) % 11;
    return r < 2 ? 0 : 11 - r;
  };
  return check(12) === d[12] && check(13) === d[13];
}

describe('shipped scenario fixtures', () => {
  const scenarios = loadScenarios();
  const model = createScriptedModel({ scenarios });

  it('cover both seed tenants plus the loop, out-of-session and failing-tool cases', () => {
    const names = scenarios.map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'loja-pix-charge-whatsapp',
        'acme-card-shipping-nfe',
        'test-loop-forever',
        'test-out-of-session-tool',
        'loja-refund-missing-payment',
      ]),
    );
    expect(scenarios.find((s) => s.name === 'test-loop-forever')?.repeat_last_turn).toBe(true);
  });

  it.each(loadScenarios().map((s) => [s.name, s] as const))('%s calls only real sandbox tools of its tenant', (name, s) => {
    for (const tool of toolNames(s)) {
      const [server, fn] = tool.split('__');
      expect(TOOLS[server!]).toContain(fn);
      if (s.tenant && !OUT_OF_SESSION.has(name)) expect(TENANT_SERVERS[s.tenant]).toContain(server);
    }
    if (OUT_OF_SESSION.has(name)) {
      expect(toolNames(s).some((t) => !TENANT_SERVERS[s.tenant!]!.includes(t.split('__')[0]!))).toBe(true);
    }
  });

  it.each(loadScenarios().map((s) => [s.name, s] as const))('%s is selected by its own example message', async (name, s) => {
    expect(s.example).toBeTruthy();
    const turn = await model.complete({ model: 'm', messages: [{ role: 'user', content: s.example! }] });
    const first = s.turns[0]!;
    if (first.tool_calls) {
      expect(turn.message.tool_calls?.map((c) => c.function.name)).toEqual(first.tool_calls.map((c) => c.name));
    } else {
      expect(turn.message.content).not.toContain('No scripted scenario matched');
    }
  });

  it('uses valid Brazilian documents and digits-only phones', () => {
    expect([validCpf('52998224725'), validCpf('52998224724'), validCnpj('11222333000181'), validCnpj('11222333000182')]).toEqual([true, false, true, false]);
    const text = JSON.stringify(scenarios);
    const docs = [...text.matchAll(/"(?:cpfCnpj|cpf_cnpj|cpf|cnpj)":"([\d./-]+)"/g)].map((m) => m[1]!.replace(/\D/g, ''));
    expect(docs.length).toBeGreaterThanOrEqual(4);
    for (const doc of docs) expect(doc.length === 11 ? validCpf(doc) : validCnpj(doc)).toBe(true);
    const sends = scenarios.flatMap((s) => s.turns.flatMap((t) => t.tool_calls ?? [])).filter((c) => c.name === 'z-api__send_text');
    expect(sends.length).toBeGreaterThan(0);
    for (const c of sends) expect(String(c.arguments?.phone)).toMatch(/^\d{10,15}$/);
  });
});
