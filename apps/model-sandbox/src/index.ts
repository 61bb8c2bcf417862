export { createModelServer } from './model-server';
export type { ModelServer, ModelServerOptions, ModelServerStats } from './model-server';
export { createFailureInjector, parseStatusList } from './failure-injector';
export type { FailureInjector, InjectedFailure } from './failure-injector';
export { parseModelSandboxConfig, ConfigError } from './config';
export type { ModelSandboxConfig } from './config';
