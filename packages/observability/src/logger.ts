import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/**
 * Paths pino censors in every log line. Credential values never reach a logger on purpose, but
 * these catch the common accidents: an Authorization header, an API key in a body, a credentials map.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'api_key',
  '*.api_key',
  'key',
  '*.key',
  'secret',
  '*.secret',
  'webhook_secret',
  '*.webhook_secret',
  'password',
  '*.password',
  'token',
  '*.token',
  'credentials',
  '*.credentials',
  'values',
  '*.values',
  'req.headers["x-metrics-token"]',
  'res.headers["set-cookie"]',
  'apiKey',
  '*.apiKey',
  'access_token',
  '*.access_token',
];

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Pretty output is for a developer's terminal only; production logs stay JSON. */
  pretty?: boolean;
  /** Where lines go; tests pass a stream to capture them. Defaults to stdout. */
  destination?: pino.DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const base: pino.LoggerOptions = {
    name: opts.name,
    level: opts.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (opts.destination) return pino(base, opts.destination);
  if (opts.pretty && prettyAvailable()) {
    // pino-pretty is a dev dependency: present in a checkout, absent from production images.
    return pino({ ...base, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return pino(base);
}

function prettyAvailable(): boolean {
  try {
    require.resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/** A logger that drops everything: for tests and benchmarks that assert on nothing logged. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
