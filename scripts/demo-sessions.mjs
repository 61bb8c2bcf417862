// The seed's own programming model, over the session API (API.md "Sessions"): what a SaaS backend
// written against @codespar/sdk + @codespar/openai does with ONE platform key for all its tenants.
// Its route: codespar.create(tenant.id, { servers }), getTools(session) (GET …/connections),
// handleToolCall(session, toolCall) for a tool call its model made (the whole OpenAI tool-call
// object is posted), session.send(message) for the agent loop, session.close(). Its billing cron:
// GET /v1/usage, counting tool_calls by metadata.tenant_id. Plain fetch, as the SDK does.

/** The SDK's call shape: a non-2xx of create/send/usage is an error carrying the body's top-level code and message. */
function sdk(API, key) {
  return async (method, path, body, accept = 'application/json') => {
    const res = await fetch(API + path, {
      method,
      headers: { authorization: `Bearer ${key}`, accept, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new Error(`${method} ${path} failed: ${res.status} — ${parsed?.code}: ${parsed?.message}`);
    return { body: parsed, headers: res.headers };
  };
}

/** Runs the seed's route for each demo tenant and then its billing cron; true when everything succeeded. */
export async function runSessionDemo({ api, log, API }) {
  const issued = await api('POST', '/v1/admin/api-keys', { environment: 'live', name: 'demo SaaS backend' });
  if (issued.status !== 201) throw new Error(`platform key: ${JSON.stringify(issued.body)}`);
  const codespar = sdk(API, issued.body.key);
  log(`platform key ${issued.body.prefix}… issued: one key for every tenant, as the seed's backend uses it`);

  const flows = [
    {
      tenant: 'tenant_loja',
      servers: ['asaas', 'z-api'],
      toolCall: { name: 'asaas__create_customer', arguments: { name: 'Maria Silva', cpfCnpj: '52998224725' } },
      message: 'Create a Pix charge of R$50 for Maria Silva (CPF 529.982.247-25) and WhatsApp her the payment link at +55 31 99988-7766',
    },
    {
      tenant: 'tenant_acme',
      servers: ['stripe', 'correios', 'nuvem-fiscal'],
      toolCall: { name: 'correios__calculate_shipping', arguments: { cepOrigem: '01310100', cepDestino: '30130000', peso: 1000 } },
      message: 'Charge R$150 by card, quote shipping to CEP 30130-000 and issue the NF-e',
    },
  ];
  let ok = true;
  for (const f of flows) {
    const session = (await codespar('POST', '/v1/sessions', { servers: f.servers, user_id: f.tenant })).body;
    const { tools } = (await codespar('GET', `/v1/sessions/${session.id}/connections`)).body;
    // handleToolCall(session, toolCall): the model's tool call, posted whole.
    const toolCall = { id: 'call_demo_1', type: 'function', function: { name: f.toolCall.name, arguments: JSON.stringify(f.toolCall.arguments) } };
    const executed = (await codespar('POST', `/v1/sessions/${session.id}/execute`, { tool: toolCall })).body;
    const sent = await codespar('POST', `/v1/sessions/${session.id}/send`, { message: f.message });
    await codespar('DELETE', `/v1/sessions/${session.id}`);
    const result = sent.body;
    ok &&= executed.success && result.tool_calls.every((c) => c.status === 'success');
    console.log(`\n  ${executed.success ? '✔' : '✘'} session ${session.id} · ${f.tenant} · ${tools.length} tools`);
    console.log(`    handleToolCall ${f.toolCall.name} → ${executed.success ? 'ok' : executed.error} (${executed.duration} ms, ${executed.tool_call_id})`);
    console.log(
      `    send → job ${sent.headers.get('x-job-id')}: ${result.tool_calls.map((c) => `${c.tool_name}${c.status === 'success' ? '' : ' ✗'}`).join(' → ')}`,
    );
    console.log(`    agent: ${result.message}`);
  }

  // The seed's billing cron, verbatim in spirit: one request, grouped by metadata.tenant_id.
  const { body: data } = await codespar('GET', '/v1/usage');
  const byTenant = data.tool_calls.reduce((acc, call) => {
    acc[call.metadata.tenant_id] = (acc[call.metadata.tenant_id] ?? 0) + 1;
    return acc;
  }, {});
  console.log(
    `\n  billing cron (GET /v1/usage, this month, live): ${Object.entries(byTenant)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ')} tool calls`,
  );
  return ok;
}
