export { loadConfig, ConfigError } from './config';
export type { Config } from './config';
export { envSchema, DEV_OPERATOR_API_KEY, DEV_VAULT_MASTER_KEY } from './schema';
export type { Env } from './schema';
