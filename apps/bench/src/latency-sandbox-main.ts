// The sandbox in its own process with a fixed latency per tool call (apps/sandbox/src/main.ts has no
// such setting, and benchmarks need jobs of a known duration):
// `node --import tsx latency-sandbox-main.ts <port> <callLatencyMs>`. SIGTERM closes it.
import { createSandboxServer } from '@agents/sandbox';
import { createLogger } from '@agents/observability';

const [port, callLatencyMs] = process.argv.slice(2).map(Number);
createSandboxServer({ port: port!, logger: createLogger({ name: 'sandbox', level: 'warn' }), callLatencyMs }).then(
  (s) => {
    process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
