export { loadConfig, loadConfigOrExit, ConfigError } from './config';
export type { Config } from './config';
export { envSchema, DEV_OPERATOR_API_KEY, DEV_VAULT_MASTER_KEY } from './schema';
export type { Env } from './schema';
export { envDocs, renderEnvTable, withEnvTable, schemaComments, ENV_TABLE_START, ENV_TABLE_END } from './env-docs';
export type { EnvDoc } from './env-docs';
export { parseRedisUrl } from './redis-url';
export type { RedisTarget } from './redis-url';
