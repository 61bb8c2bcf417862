// Ops CLI: the operator's everyday tasks over the HTTP API (operator key), plus re-running the
// reconciler directly against Postgres + Redis and the usage partitions' retention (Postgres). Configuration comes from the same environment as
// the services (OPERATOR_API_KEY, DATABASE_URL, REDIS_URL, REDIS_PREFIX), plus API_URL.
// Usage: npm run ops -- <command> [options]   (--help lists them). Output: tables; --json prints
// the API's JSON as it came.
import { parseArgs } from 'node:util';
import { loadConfig } from '@agents/config';
import { detachUsageMonth, UsageRetentionError } from '@agents/billing';
import { countDefaultPartitionRows, createDb, listUsagePartitions } from '@agents/db';
import { silentLogger } from '@agents/observability';
import { createProducer, createRedis, reconcileUnqueued } from '@agents/queue';

const HELP = `npm run ops -- <command> [options] [--json]
  (tables by default; --json prints the raw JSON)
  tenants create --id <id> --servers a,b [--name <n>] [--concurrency <n>]
  tenants list | tenants show --id <id>
  keys issue --tenant <id> --environment test|live [--name <n>]
  keys list --tenant <id> | keys revoke --tenant <id> --key <key_id>
  credentials set --tenant <id> --server <s> --environment test|live --value field=secret [--value ...]
  usage [--from <iso>] [--to <iso>] [--environment live|test]
  invoices --period YYYY-MM
  jobs failed --tenant <id> [--limit n]
  jobs stuck --tenant <id> [--older-than-ms n]   (running longer than n ms, default 600000)
  jobs show <tenant> <job_id>
  jobs cancel <tenant> <job_id>                  (queued: cancelled at once; running: before its next call)
  jobs retry <tenant> <job_id>                   (failed only: runs again from its checkpoints)
  reconcile                                      (enqueue committed jobs missing from Redis)
  partitions list                                (usage_events month partitions, attached or detached)
  partitions detach --period YYYY-MM             (retention: only once the month's invoices are final;
                                                  the table stays until you archive and DROP it)
env: API_URL (default http://127.0.0.1:$PORT), OPERATOR_API_KEY, DATABASE_URL, REDIS_URL, REDIS_PREFIX`;

/** Thrown for bad usage or a refused request; message is printed, exit code 1. */
class OpsError extends Error {
  readonly code = 'ops_failed';
}

async function main(argv: string[], env: Record<string, string | undefined>): Promise<unknown> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      id: { type: 'string' },
      name: { type: 'string' },
      servers: { type: 'string' },
      concurrency: { type: 'string' },
      tenant: { type: 'string' },
      environment: { type: 'string' },
      key: { type: 'string' },
      server: { type: 'string' },
      value: { type: 'string', multiple: true },
      from: { type: 'string' },
      to: { type: 'string' },
      period: { type: 'string' },
      limit: { type: 'string' },
      'older-than-ms': { type: 'string' },
      help: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const [group, action, ...rest] = positionals;
  if (values.help || !group) return HELP;
  const config = loadConfig(env);
  const base = env.API_URL ?? `http://127.0.0.1:${config.port}`;
  const need = (v: string | undefined, flag: string): string => {
    if (!v) throw new OpsError(`--${flag} is required (see --help)`);
    return v;
  };
  const api = async (method: string, path: string, body?: unknown): Promise<any> => {
    const r = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${config.operatorApiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    const parsed = text ? JSON.parse(text) : null;
    if (!r.ok) throw new OpsError(`${method} ${path} → ${r.status} ${parsed?.error?.code ?? ''}: ${parsed?.error?.message ?? text}`);
    return parsed;
  };
  const tenantPath = (t: string) => `/v1/tenants/${encodeURIComponent(t)}`;

  switch (`${group} ${action ?? ''}`.trim()) {
    case 'tenants create':
      return api('POST', '/v1/admin/tenants', {
        id: need(values.id, 'id'),
        servers: need(values.servers, 'servers').split(',').filter(Boolean),
        ...(values.name ? { name: values.name } : {}),
        ...(values.concurrency ? { limits: { concurrency: Number(values.concurrency) } } : {}),
      });
    case 'tenants list':
      return api('GET', '/v1/admin/tenants?limit=100');
    case 'tenants show':
      return api('GET', `/v1/admin/tenants/${encodeURIComponent(need(values.id, 'id'))}`);
    case 'keys issue':
      return api('POST', `/v1/admin/tenants/${encodeURIComponent(need(values.tenant, 'tenant'))}/api-keys`, {
        environment: need(values.environment, 'environment'),
        ...(values.name ? { name: values.name } : {}),
      });
    case 'keys list':
      return api('GET', `/v1/admin/tenants/${encodeURIComponent(need(values.tenant, 'tenant'))}/api-keys`);
    case 'keys revoke':
      await api('DELETE', `/v1/admin/tenants/${encodeURIComponent(need(values.tenant, 'tenant'))}/api-keys/${encodeURIComponent(need(values.key, 'key'))}`);
      return { revoked: values.key };
    case 'credentials set': {
      const pairs = (values.value ?? []).map((v) => {
        const i = v.indexOf('=');
        if (i < 1) throw new OpsError('--value must be field=secret');
        return [v.slice(0, i), v.slice(i + 1)] as const;
      });
      if (!pairs.length) throw new OpsError('at least one --value field=secret is required');
      const server = need(values.server, 'server');
      await api(
        'PUT',
        `${tenantPath(need(values.tenant, 'tenant'))}/credentials/${encodeURIComponent(server)}?environment=${need(values.environment, 'environment')}`,
        {
          values: Object.fromEntries(pairs),
        },
      );
      // Never echo the values back.
      return { server, fields: pairs.map(([k]) => k) };
    }
    case 'usage': {
      const q = new URLSearchParams();
      for (const k of ['from', 'to', 'environment'] as const) if (values[k]) q.set(k, values[k]!);
      return api('GET', `/v1/admin/usage?${q}`);
    }
    case 'invoices':
      return api('GET', `/v1/admin/invoices?period=${encodeURIComponent(need(values.period, 'period'))}`);
    case 'jobs failed':
      return api('GET', `${tenantPath(need(values.tenant, 'tenant'))}/jobs?status=failed&limit=${Number(values.limit ?? 20)}`);
    case 'jobs show':
    case 'jobs cancel':
    case 'jobs retry': {
      const tenant = need(rest[0] ?? values.tenant, 'tenant');
      const id = need(rest[1] ?? values.id, 'id');
      const path = `${tenantPath(tenant)}/jobs/${encodeURIComponent(id)}`;
      return action === 'show' ? api('GET', path) : api('POST', `${path}/${action}`);
    }
    case 'jobs stuck': {
      const olderThanMs = Number(values['older-than-ms'] ?? 600_000);
      const r = await api('GET', `${tenantPath(need(values.tenant, 'tenant'))}/jobs?status=running&limit=100`);
      const now = Date.now();
      return { data: (r.data as { started_at: string | null }[]).filter((j) => j.started_at && now - Date.parse(j.started_at) > olderThanMs) };
    }
    case 'reconcile': {
      const db = createDb({ url: config.databaseUrl, max: 2 });
      const redis = createRedis(config.redisUrl, silentLogger(), 'ops-cli');
      const producer = createProducer({ redis, redisPrefix: config.redisPrefix, attempts: config.jobAttempts });
      try {
        return { enqueued: await reconcileUnqueued({ db, producer, logger: silentLogger(), graceMs: config.reconcileGraceMs }) };
      } finally {
        await producer.close();
        redis.disconnect();
        await db.destroy();
      }
    }
    case 'partitions list':
    case 'partitions detach': {
      const db = createDb({ url: config.databaseUrl, max: 1 });
      try {
        if (action === 'list') return { default_partition_rows: await countDefaultPartitionRows(db), data: await listUsagePartitions(db) };
        // The settle time the worker's billing cycle finalises invoices with.
        return await detachUsageMonth(db, { period: need(values.period, 'period'), settleMs: config.jobTimeoutMs });
      } catch (err) {
        if (err instanceof UsageRetentionError) throw new OpsError(`refused (${err.code}): ${err.message}`);
        throw err;
      } finally {
        await db.destroy();
      }
    }
    default:
      throw new OpsError(`unknown command "${positionals.join(' ')}"\n${HELP}`);
  }
}

/** A cell: scalars as they are, lists of scalars joined, anything else as compact JSON; long cells cut. */
function cell(v: unknown): string {
  const text =
    v === null || v === undefined
      ? ''
      : typeof v !== 'object'
        ? String(v)
        : Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')
          ? v.join(',')
          : JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

function table(rows: Record<string, unknown>[]): string {
  if (!rows.length) return '(none)';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** The human form of a result: a list as a table; an object as field/value lines, its lists of objects as tables below. */
export function render(out: unknown): string {
  if (typeof out === 'string') return out;
  if (Array.isArray(out)) return table(out as Record<string, unknown>[]);
  if (!out || typeof out !== 'object') return String(out);
  const obj = out as Record<string, unknown>;
  const isRows = (v: unknown): v is Record<string, unknown>[] =>
    Array.isArray(v) && v.length > 0 && v.every((x) => x && typeof x === 'object' && !Array.isArray(x));
  const lists = Object.entries(obj).filter(([k, v]) => isRows(v) || (k === 'data' && Array.isArray(v)));
  const fields = Object.entries(obj).filter(([k]) => !lists.some(([l]) => l === k) && k !== 'has_more');
  const parts: string[] = [];
  if (fields.length) {
    const w = Math.max(...fields.map(([k]) => k.length));
    parts.push(fields.map(([k, v]) => `${k.padEnd(w)}  ${cell(v)}`).join('\n'));
  }
  for (const [k, v] of lists) parts.push((lists.length > 1 || fields.length ? `${k}:\n` : '') + table(v as Record<string, unknown>[]));
  if (obj.has_more) parts.push('(more: raise --limit)');
  return parts.join('\n\n');
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  main(argv, process.env).then(
    (out) => {
      console.log(typeof out === 'string' ? out : argv.includes('--json') ? JSON.stringify(out, null, 2) : render(out));
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
