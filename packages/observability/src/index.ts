export { createLogger, silentLogger, REDACT_PATHS } from './logger';
export type { Logger, LoggerOptions } from './logger';
