// A local Redis Cluster for the tests, the drills and the benchmarks: 3 masters + 3 replicas on
// loopback ports, no persistence, state under one directory of the OS temp dir.
//
//   node scripts/redis-cluster.mjs start   # prints the REDIS_URL to use (redis+cluster://…)
//   node scripts/redis-cluster.mjs stop    # shuts every node down and removes the state directory
//   node scripts/redis-cluster.mjs url     # prints the REDIS_URL without starting anything
//
// CLUSTER_BASE_PORT (default 7000) moves the six ports (BASE … BASE+5). Needs redis-server and
// redis-cli (Redis >= 6.2) on PATH. Plain Node, no dependencies, like the other entry scripts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BASE = Number(process.env.CLUSTER_BASE_PORT ?? 7000);
const PORTS = [0, 1, 2, 3, 4, 5].map((i) => BASE + i);
const DIR = path.join(os.tmpdir(), `agents-redis-cluster-${BASE}`);
const URL = `redis+cluster://${PORTS.slice(0, 3)
  .map((p) => `127.0.0.1:${p}`)
  .join(',')}`;

function cli(port, ...args) {
  return spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' });
}

const answers = (port) => cli(port, 'ping').stdout.trim() === 'PONG';

function clusterOk(port) {
  return /cluster_state:ok/.test(cli(port, 'cluster', 'info').stdout);
}

/** Every node agrees the cluster is ok and sees 3 masters with a replica each. */
function formed() {
  if (!PORTS.every(clusterOk)) return false;
  // `cluster nodes`: one line per node, its flags (myself,master / slave / fail?…) in the third field.
  const flags = cli(PORTS[0], 'cluster', 'nodes')
    .stdout.trim()
    .split('\n')
    .map((l) => l.split(' ')[2]?.split(',') ?? []);
  const healthy = flags.filter((f) => !f.includes('fail') && !f.includes('fail?'));
  const masters = healthy.filter((f) => f.includes('master'));
  const replicas = healthy.filter((f) => f.includes('slave'));
  return masters.length === 3 && replicas.length === 3;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function start() {
  if (PORTS.every(answers) && formed()) {
    console.log(URL);
    return;
  }
  // Whatever a previous run left (half-formed cluster, stale node files) goes first.
  stop({ quiet: true });
  mkdirSync(DIR, { recursive: true });
  for (const port of PORTS) {
    const r = spawnSync(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        path.join(DIR, `nodes-${port}.conf`),
        // A master unreachable for 2 s is failed over: the failover drill waits for that.
        '--cluster-node-timeout',
        '2000',
        '--dir',
        DIR,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'yes',
        '--pidfile',
        path.join(DIR, `redis-${port}.pid`),
        '--logfile',
        path.join(DIR, `redis-${port}.log`),
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`redis-server on port ${port} did not start: ${r.stderr || r.stdout}`);
  }
  for (let i = 0; i < 50 && !PORTS.every(answers); i++) await sleep(100);
  if (!PORTS.every(answers)) throw new Error(`the cluster nodes do not answer (logs in ${DIR})`);
  const create = cli(PORTS[0], '--cluster', 'create', ...PORTS.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes');
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  for (let i = 0; i < 300 && !formed(); i++) await sleep(100);
  if (!formed()) throw new Error(`the cluster did not reach cluster_state:ok with 3 masters and 3 replicas within 30 s (logs in ${DIR})`);
  console.log(URL);
}

function stop({ quiet = false } = {}) {
  for (const port of PORTS) if (answers(port)) cli(port, 'shutdown', 'nosave');
  rmSync(DIR, { recursive: true, force: true });
  if (!quiet) console.error(`redis cluster on ports ${PORTS[0]}–${PORTS[5]} stopped`);
}

const command = process.argv[2];
if (command === 'start') await start();
else if (command === 'stop') stop();
else if (command === 'url') console.log(URL);
else {
  console.error('usage: node scripts/redis-cluster.mjs start|stop|url');
  process.exit(2);
}
