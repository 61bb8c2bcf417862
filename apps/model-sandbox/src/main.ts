import { createScriptedModel, DEFAULT_FIXTURES_DIR, loadScenarios } from '@agents/agent';
import { createLogger } from '@agents/observability';
import { parseModelSandboxConfig } from './config';
import { createModelServer } from './model-server';

/** Time allowed for a graceful stop before exiting anyway, ms. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  const config = parseModelSandboxConfig(process.env);
  const logger = createLogger({ name: 'model-sandbox', level: config.logLevel });
  const fixturesDir = config.fixturesDir ?? DEFAULT_FIXTURES_DIR;
  const scenarios = loadScenarios(fixturesDir);
  const model = createScriptedModel({ scenarios, latencyMs: config.latencyMs });
  const server = await createModelServer({ port: config.port, host: config.host, model, logger });
  logger.info(
    { url: server.url, scenarios: scenarios.length, fixtures_dir: fixturesDir, latency_ms: config.latencyMs },
    'model-sandbox ready: set OPENAI_BASE_URL to this url (any OPENAI_API_KEY)',
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'model-sandbox stopping');
    const timer = setTimeout(() => {
      logger.error('model-sandbox: graceful stop timed out');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'model-sandbox: error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  // No logger may exist yet (bad config); stderr is the only safe place.
  process.stderr.write(`model-sandbox failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
