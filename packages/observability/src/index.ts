export { createLogger, silentLogger, REDACT_PATHS } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { createMetrics, OTHER_TENANT } from './metrics';
export type { Metrics, MetricsOptions, JobOutcome, WebhookOutcome, RefusalReason } from './metrics';
export { createMetricsEndpoint, scrapeAuthorized } from './metrics-endpoint';
export type { MetricsEndpointOptions } from './metrics-endpoint';
export { runService } from './run-service';
export type { ServiceSettings } from './run-service';
