import { createLogger } from '@agents/observability';
import { createSandboxServer } from './sandbox-server';

/** Wiring only: environment → server; SIGTERM/SIGINT → close → exit 0 (forced after 10 s). */
const SHUTDOWN_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  const rawPort = process.env.SANDBOX_PORT ?? '4010';
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`SANDBOX_PORT must be an integer 0-65535 (got '${rawPort}'); unset it to use 4010.`);
  }
  const logger = createLogger({ name: 'sandbox', level: process.env.LOG_LEVEL ?? 'info' });
  const server = await createSandboxServer({ port, logger });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'sandbox shutting down');
    setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
