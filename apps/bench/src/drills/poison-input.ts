import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { ERROR_STATUS } from '@agents/api';
import { audit, waitTerminal } from '../audit';
import { sharedProblems } from '../drill-result';
import type { DrillResult } from '../drill-result';
import { percentile, runLoad } from '../load';
import { OPERATOR_KEY, startStack, workflowBody } from '../stack';

export interface PoisonInputOptions {
  /** Hostile requests (the issue's full drill: 1,000). */
  hostile: number;
  /** Normal jobs submitted in the quiet phase and again during the hostile traffic. */
  normal: number;
  tenants: number;
  /** Slow clients among the hostile requests: each trickles its headers until the server gives up (~10 s). */
  slowClients: number;
  /** Count "normal p99 during > 2 × quiet p99" as a failure (the script; the test only reports it). */
  checkLatency: boolean;
}

export interface RawAnswer {
  status: number;
  code?: string;
}

/** Sends raw bytes over a fresh connection and reads the answer (status line + JSON error code). */
function raw(port: number, chunks: Array<string | Buffer>, gapMs = 0, timeoutMs = 40_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let buf = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      const body = buf.slice(buf.indexOf('\r\n\r\n') + 4);
      let code: string | undefined;
      try {
        code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
      } catch {
        code = undefined;
      }
      resolve({ status: m ? Number(m[1]) : 0, code });
    };
    const timer = setTimeout(finish, timeoutMs);
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const head = buf.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(buf);
      if (head >= 0 && len && buf.length - head - 4 >= Number(len[1])) finish();
    });
    s.on('error', finish);
    s.on('close', finish);
    s.on('connect', async () => {
      for (const c of chunks) {
        if (done) return;
        s.write(c);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

/** One class of hostile request, as raw HTTP to the API at `port`. */
export interface HostileKind {
  name: string;
  send(port: number, tenant: string, i: number): Promise<RawAnswer>;
}

const AUTH = `Authorization: Bearer ${OPERATOR_KEY}\r\n`;
const jobsPath = (tenant: string) => `/v1/tenants/${tenant}/jobs`;
/** The body goes as its own chunk, so a pre-built body is written as is, never copied per request. */
const post = (port: number, path: string, body: string | Buffer, type = 'application/json') =>
  raw(port, [
    `POST ${path} HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
    body,
  ]);

/**
 * Built on first use and then reused: the drill's client shares the 2 cores with the API, and
 * building a 1 MiB or 100 KB payload per request made the client, not the API, the CPU hog.
 */
function once<T>(build: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= build());
}
const deepArray = once(() => Buffer.from(`${'['.repeat(50_000)}${']'.repeat(50_000)}`));
const deepObject = once(() => Buffer.from(JSON.stringify(workflowBody('deep')).replace(/}$/, `,"metadata2":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`)));
const hugeHeader = once(() => `X-Pad: ${'a'.repeat(64 * 1024)}\r\n`);
const hugeBody = once(() => Buffer.from(JSON.stringify({ type: 'agent', input: 'x'.repeat(1024 * 1024) })));

/** The hostile classes, sent round-robin by the drill (request i is of class `i % HOSTILE_KINDS.length`). */
export const HOSTILE_KINDS: HostileKind[] = [
  { name: 'random-bytes', send: (port, tenant, i) => post(port, jobsPath(tenant), randomBytes(64 + (i % 512))) },
  {
    name: 'hostile-shape',
    send: (port, tenant, i) =>
      post(
        port,
        jobsPath(tenant),
        JSON.stringify({
          type: 'workflow',
          steps: [{ tool: 'x'.repeat(i % 300), args: 'nope' }],
          metadata: { ['k'.repeat(5000)]: 1 },
          __proto__: { admin: true },
        }),
      ),
  },
  // Deeply nested JSON (well under the body limit).
  { name: 'deep-array-50k', send: (port, tenant) => post(port, jobsPath(tenant), deepArray()) },
  // A valid job with a 20,000-deep object in it.
  { name: 'deep-object-20k', send: (port, tenant) => post(port, jobsPath(tenant), deepObject()) },
  // Node's header limit is 16 KiB.
  {
    name: 'headers-64k',
    send: (port, tenant) => raw(port, [`GET ${jobsPath(tenant)} HTTP/1.1\r\nHost: x\r\n${AUTH}${hugeHeader()}Connection: close\r\n\r\n`]),
  },
  {
    name: 'unicode-ids',
    send: (port) => raw(port, [`GET /v1/tenants/%F0%9F%92%A3%00%E2%80%AE/jobs/job_%C3%A9%FF HTTP/1.1\r\nHost: x\r\n${AUTH}Connection: close\r\n\r\n`]),
  },
  { name: 'bad-percent', send: (port) => raw(port, [`GET /v1/tenants/%E0%A4%A/jobs HTTP/1.1\r\nHost: x\r\n${AUTH}Connection: close\r\n\r\n`]) },
  // A body far over the limit, sent in full.
  { name: 'body-1mib', send: (port, tenant) => post(port, jobsPath(tenant), hugeBody()) },
  { name: 'wrong-media-type', send: (port, tenant) => post(port, jobsPath(tenant), '<xml/>', 'application/xml') },
  // No valid credentials, a forged unicode key.
  {
    name: 'forged-key',
    send: (port, tenant) =>
      raw(port, [
        `POST ${jobsPath(tenant)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ak_live_${'Ω'.repeat(40)}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      ]),
  },
];

/** A client that sends its headers one byte every 200 ms and never finishes: the server must cut it off with a 4xx. */
export function slowClient(port: number, tenant: string): Promise<RawAnswer> {
  const head = `GET /v1/tenants/${tenant}/jobs HTTP/1.1\r\nHost: x\r\nX-Slow: ${'s'.repeat(400)}`;
  return raw(
    port,
    [...head].map((c) => c),
    200,
  );
}

/**
 * Drill 6: hostile requests (fuzzed bodies, deep JSON, huge headers, unicode ids, slow clients)
 * interleaved with normal job submissions. The API stays up, every hostile request gets a 4xx
 * with a code from the contract's table, normal traffic's p99 is compared with its quiet value,
 * and the normal jobs complete.
 */
export async function poisonInput(opts: PoisonInputOptions): Promise<DrillResult> {
  const t0 = Date.now();
  const stack = await startStack({ label: 'poison', tenants: opts.tenants, workers: 1, workerSlots: 16 });
  const port = Number(new URL(stack.apiUrl).port);
  try {
    const quiet = await runLoad(stack, { jobs: opts.normal, concurrency: 4, retry: 'same-key' });
    const answers: RawAnswer[] = [];
    let next = 0;
    const hostileLanes = Array.from({ length: 8 }, async () => {
      for (let i = next++; i < opts.hostile - opts.slowClients; i = next++)
        answers.push(await HOSTILE_KINDS[i % HOSTILE_KINDS.length]!.send(port, stack.tenants[i % stack.tenants.length]!, i));
    });
    const slow = Array.from({ length: opts.slowClients }, async (_, i) => answers.push(await slowClient(port, stack.tenants[i % stack.tenants.length]!)));
    const [busy] = await Promise.all([runLoad(stack, { jobs: opts.normal, concurrency: 4, retry: 'same-key' }), ...hostileLanes, ...slow]);
    const accepted = new Set([...quiet.accepted, ...busy.accepted]);
    await waitTerminal(stack.db, accepted, 120_000);
    const counts = await audit(stack, accepted);
    const known = new Set(Object.keys(ERROR_STATUS));
    const bad = answers.filter((a) => !(a.status >= 400 && a.status < 500 && a.code && known.has(a.code)));
    const byCode = new Map<string, number>();
    for (const a of answers) byCode.set(`${a.status} ${a.code ?? '-'}`, (byCode.get(`${a.status} ${a.code ?? '-'}`) ?? 0) + 1);
    const ms = (l: typeof quiet) => l.attempts.filter((a) => a.status === 202).map((a) => a.ms);
    const quietP99 = percentile(ms(quiet), 99);
    const busyP99 = percentile(ms(busy), 99);
    const ratio = busyP99 / quietP99;
    const health = await fetch(`${stack.apiUrl}/healthz`).then(
      (r) => r.status,
      () => 0,
    );
    const problems = sharedProblems(counts);
    if (bad.length)
      problems.push(
        `${bad.length} hostile requests without a 4xx and a stable code (${[...new Map(bad.map((b) => [`${b.status} ${b.code ?? '-'}`, 1])).keys()].join(', ')})`,
      );
    if (health !== 200 || !stack.api.alive()) problems.push('the API did not survive');
    if (counts.completed !== counts.accepted) problems.push(`${counts.accepted - counts.completed} normal jobs did not succeed`);
    if (opts.checkLatency && ratio > 2) problems.push(`normal p99 under hostile traffic ${busyP99.toFixed(0)} ms = ${ratio.toFixed(2)} × quiet (goal ≤ 2)`);
    return {
      name: 'poison input',
      ...counts,
      notes: {
        hostile: answers.length,
        quiet_p99_ms: quietP99.toFixed(1),
        busy_p99_ms: busyP99.toFixed(1),
        p99_ratio: ratio.toFixed(2),
        answers: [...byCode].map(([k, n]) => `${k}:${n}`).join(' '),
      },
      problems,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await stack.close();
  }
}
