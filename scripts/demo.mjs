// `npm run demo`: everything on the embedded defaults. Installs what is missing, makes sure Redis
// and Postgres run, migrates, starts sandbox + api + worker, seeds the seed's tenants, submits their
// jobs, prints results as they finish, and leaves the system running (Ctrl-C stops everything).
// The services' own JSON log lines go to demo.log (LOG_FILE overrides), so the terminal shows only
// the demo's narration, ending with its summary.
import { spawnSync } from 'node:child_process';
import { openSync, closeSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, bin, ensureDependencies, ensureServices, ensureSupportedNode, log } from './lib.mjs';
import { startAll } from './start.mjs';
import { TENANTS, JOBS } from './demo-seed.mjs';
import { runAutomationDemo, seedAutomations } from './demo-automation.mjs';
import { runSessionDemo } from './demo-sessions.mjs';

await ensureSupportedNode('npm run demo');
const t0 = Date.now();
ensureDependencies();
await ensureServices();

const env = {
  PORT: process.env.PORT ?? '3000',
  SANDBOX_PORT: process.env.SANDBOX_PORT ?? '4010',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
};
const LOG_FILE = path.resolve(ROOT, process.env.LOG_FILE ?? 'demo.log');
writeFileSync(LOG_FILE, '');
const API = `http://127.0.0.1:${env.PORT}`;
const SANDBOX = process.env.SANDBOX_URL ?? `http://127.0.0.1:${env.SANDBOX_PORT}`;
const KEY = process.env.OPERATOR_API_KEY ?? 'op_dev_insecure_operator_key_change_me';

log(`service logs (JSON) go to ${path.relative(process.cwd(), LOG_FILE) || LOG_FILE}`);
log('migrating the database…');
const logFd = openSync(LOG_FILE, 'a');
const m = spawnSync(bin('tsx'), ['scripts/migrate.ts'], { cwd: ROOT, stdio: ['ignore', logFd, logFd], env: { ...process.env, ...env } });
closeSync(logFd);
if (m.status !== 0) {
  console.error(`demo failed: the migration failed (see ${LOG_FILE})`);
  process.exit(1);
}

log('starting sandbox, api and worker…');
const sup = startAll(env, { source: true, logFile: LOG_FILE, announce: false });
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log('stopping…');
    sup.stop('SIGTERM');
  });
}
sup.done.then((code) => process.exit(process.exitCode || code));

async function api(method, path, body) {
  const res = await fetch(API + path, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function until(what, fn, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      /* not up yet */
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

try {
  await until('the API to be ready', async () => (await fetch(`${API}/readyz`)).ok);
  await until('the sandbox', async () => (await fetch(`${SANDBOX}/sandbox/requests`)).ok);

  for (const { tenant, credentials } of TENANTS) {
    const r = await api('POST', '/v1/admin/tenants', tenant);
    if (r.status !== 201 && r.body?.error?.code !== 'tenant_exists') throw new Error(`seeding ${tenant.id}: ${JSON.stringify(r.body)}`);
    for (const [server, values] of Object.entries(credentials)) {
      for (const environment of ['test', 'live']) {
        const c = await api('PUT', `/v1/tenants/${tenant.id}/credentials/${server}?environment=${environment}`, { values });
        if (c.status !== 204) throw new Error(`credentials ${tenant.id}/${server}: ${JSON.stringify(c.body)}`);
      }
    }
    log(`tenant ${tenant.id} ready (${tenant.servers.join(', ')})`);
  }
  await seedAutomations({ api });

  const submitted = [];
  for (const j of JOBS) {
    const r = await api('POST', `/v1/tenants/${j.tenant}/jobs`, j.body);
    if (r.status !== 202) throw new Error(`submitting "${j.label}": ${JSON.stringify(r.body)}`);
    log(`submitted ${j.label} for ${j.tenant} → ${r.body.id}`);
    submitted.push({ ...j, id: r.body.id });
  }

  let failures = 0;
  await Promise.all(
    submitted.map(async (j) => {
      const job = await until(
        `job ${j.id}`,
        async () => {
          const r = await api('GET', `/v1/tenants/${j.tenant}/jobs/${j.id}`);
          return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
        },
        120_000,
      );
      if (job.status !== 'succeeded') failures++;
      const calls = job.tool_calls.map((c) => `${c.server}/${c.tool}${c.success ? '' : ' ✗'}`).join(' → ');
      console.log(`\n  ${job.status === 'succeeded' ? '✔' : '✘'} ${j.tenant} · ${j.label} · ${job.status}`);
      console.log(`    GET ${API}/v1/tenants/${j.tenant}/jobs/${j.id}`);
      console.log(`    tool calls: ${calls}`);
      console.log(`    usage: ${JSON.stringify(job.usage)}`);
      if (job.output?.message) console.log(`    agent: ${job.output.message}`);
      if (job.error) console.log(`    error: ${job.error.code}: ${job.error.message}`);
    }),
  );

  if (!(await runAutomationDemo({ api, until, log, API, SANDBOX }))) failures++;
  if (!(await runSessionDemo({ api, log, API }))) failures++;

  console.log(`\nDemo finished in ${((Date.now() - t0) / 1000).toFixed(1)} s (${failures ? `${failures} job(s) did not succeed` : 'all jobs succeeded'}).`);
  console.log(
    `  API        ${API}   (operator key: ${KEY === 'op_dev_insecure_operator_key_change_me' ? 'the dev key, see README' : 'from OPERATOR_API_KEY'})`,
  );
  console.log(`  Sandbox    ${SANDBOX}/sandbox/<server>/objects`);
  console.log(`  Logs       ${LOG_FILE}   (every service's JSON log lines)`);
  if (process.env.DEMO_EXIT === '1') {
    console.log('DEMO_EXIT=1: stopping everything.');
    sup.stop('SIGTERM');
  } else console.log('The system keeps running; press Ctrl-C to stop everything.');
} catch (err) {
  console.error(`demo failed: ${err.message} (the services' logs: ${LOG_FILE})`);
  sup.stop('SIGTERM');
  process.exitCode = 1;
}
