// The provider-webhook automation demo (issue #10): the sandbox's "customer paid" control sends a
// real signed Asaas webhook to POST /hooks/tenant_full/asaas; the API verifies it, normalises it to
// payment.confirmed and queues the tenant's automation as a workflow job (no model); the demo then
// prints the NF-e, the shipment and the WhatsApp message the job left in the sandbox.
import { AUTOMATIONS, AUTOMATION_DEMO } from './demo-seed.mjs';

/** Stores every seeded tenant's automations (validated by the API against its servers and the catalog). */
export async function seedAutomations({ api }) {
  for (const [tid, automations] of Object.entries(AUTOMATIONS)) {
    const r = await api('PUT', `/v1/tenants/${tid}/automations`, { automations });
    if (r.status !== 200) throw new Error(`automations of ${tid}: ${JSON.stringify(r.body)}`);
  }
}

export async function runAutomationDemo({ api, until, log, API, SANDBOX }) {
  const { tenant, customer, value, accounts, webhookSecret } = AUTOMATION_DEMO;
  const sandbox = async (server, path, method = 'GET', body) => {
    const res = await fetch(`${SANDBOX}/sandbox/${server}/${path}`, {
      method,
      headers: { 'x-sandbox-account': accounts[server], ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`sandbox ${server}/${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const automationJobs = async () => (await api('GET', `/v1/tenants/${tenant}/jobs?limit=100`)).body.data.filter((j) => j.metadata.trigger);

  // The sandbox starts its per-account ids (pay_000001, evt_000001) afresh on every run, while this
  // database remembers every provider event it processed (dedupe survives restarts, on purpose).
  // So on a re-run, first use up the ids earlier runs already delivered, with no webhook configured.
  const earlier = (await automationJobs()).length;
  const dueDate = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
  const steps = [{ tool: 'asaas/create_customer', args: customer }];
  for (let i = 0; i <= earlier; i++) {
    steps.push({ tool: 'asaas/create_payment', args: { customer: '{{steps.0.data.id}}', billingType: 'PIX', value, dueDate, description: 'Pedido demo' } });
  }
  const setup = await api('POST', `/v1/tenants/${tenant}/jobs`, { type: 'workflow', metadata: { order_id: 'FULL-3001' }, steps });
  if (setup.status !== 202) throw new Error(`creating the charge: ${JSON.stringify(setup.body)}`);
  const done = await until('the charge', async () => {
    const r = await api('GET', `/v1/tenants/${tenant}/jobs/${setup.body.id}`);
    return ['succeeded', 'failed'].includes(r.body.status) ? r.body : undefined;
  });
  if (done.status !== 'succeeded') throw new Error(`creating the charge failed: ${JSON.stringify(done.error)}`);
  const payments = done.output.steps.slice(1).map((s) => s.data.id);
  for (const id of payments.slice(0, -1)) await sandbox('asaas', 'simulate', 'POST', { action: 'payment_received', id });
  const paymentId = payments.at(-1);

  await sandbox('asaas', 'webhook', 'PUT', { url: `${API}/hooks/${tenant}/asaas?environment=live`, secret: webhookSecret });
  log(`${tenant}: charge ${paymentId} of R$ ${value.toFixed(2)} created; simulating "customer paid" in the sandbox…`);
  await sandbox('asaas', 'simulate', 'POST', { action: 'payment_received', id: paymentId });

  const job = await until(
    'the automation job',
    async () => {
      const jobs = await automationJobs();
      if (jobs.length <= earlier) return undefined;
      const r = await api('GET', `/v1/tenants/${tenant}/jobs/${jobs[0].id}`);
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
    },
    120_000,
  );
  console.log(`\n  ${job.status === 'succeeded' ? '✔' : '✘'} ${tenant} · automation on payment.confirmed (trigger ${job.metadata.trigger}) · ${job.status}`);
  console.log(`    GET ${API}/v1/tenants/${tenant}/jobs/${job.id}`);
  console.log(`    tool calls: ${job.tool_calls.map((c) => `${c.server}/${c.tool}${c.success ? '' : ' ✗'}`).join(' → ')}`);
  if (job.error) console.log(`    error: ${job.error.code}: ${job.error.message}`);
  if (job.status !== 'succeeded') return false;

  const nfe = (await sandbox('nuvem-fiscal', 'objects')).data.at(-1);
  // SEFAZ answers asynchronously; the sandbox's control plays its "authorised" answer.
  const authorised = await sandbox('nuvem-fiscal', 'simulate', 'POST', { action: 'nfe_authorized', id: nfe.id });
  const order = (await sandbox('melhor-envio', 'objects')).data.at(-1);
  const message = (await sandbox('z-api', 'objects')).data.at(-1);
  console.log(
    `    NF-e      ${nfe.id} · R$ ${nfe.valor_total.toFixed(2)} · chave ${nfe.chave} · ${authorised.status} (protocolo ${authorised.autorizacao.numero_protocolo})`,
  );
  console.log(`    shipment  ${order.id} · NF-e key ${order.invoice?.key} · ${order.status} · tracking ${order.tracking}`);
  console.log(`    WhatsApp  to ${message.phone}: "${message.text.message}"`);
  return true;
}
