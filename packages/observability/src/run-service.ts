import { createLogger } from './logger';
import type { Logger } from './logger';

export interface ServiceSettings {
  logLevel: string;
  nodeEnv: string;
  /** Insecure-default notices from the config; logged once at start. */
  warnings: string[];
  /** How long a SIGTERM/SIGINT may take before the process exits anyway (ms); 5 s more is added for the close itself. */
  shutdownGraceMs: number;
}

/**
 * The life of one service process (api, worker): a logger, `start`, then on SIGTERM or SIGINT
 * one graceful `close` with a hard deadline; exit 0 when it closed cleanly, 1 otherwise.
 */
export function runService(name: string, settings: ServiceSettings, start: (logger: Logger) => Promise<{ close(): Promise<void> }>): void {
  const logger = createLogger({
    name,
    level: settings.logLevel,
    // Pretty output is for a developer's terminal only; anything piped or deployed stays JSON.
    pretty: settings.nodeEnv === 'development' && process.stdout.isTTY === true,
  });
  for (const w of settings.warnings) logger.warn(w);
  // Signals are handled from the first moment: a worker's dispatcher takes jobs before the rest of
  // the process has started, and a SIGTERM then (a rollout stopping a pod that is still starting)
  // must still hand them back rather than kill the process mid-step. Stopping waits for the start.
  const started = start(logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Hard deadline: a stuck close must not keep the process past its grace period.
    setTimeout(() => {
      logger.error({ grace_ms: settings.shutdownGraceMs }, 'shutdown did not finish in time; exiting anyway');
      process.exit(1);
    }, settings.shutdownGraceMs + 5_000).unref();
    started
      .then((service) => service.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          // Exit 1 tells a supervisor the close (or the start it waited for) was not clean; the line says why.
          logger.error({ err: { message: err instanceof Error ? err.message : String(err) } }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  started.catch((err: unknown) => {
    if (stopping) return; // the stop path reports it
    logger.fatal({ err: { message: err instanceof Error ? err.message : String(err) } }, `${name} failed to start`);
    process.exit(1);
  });
}
