export { createTestDatabase, dropDatabase, TEST_PG_BASE } from './database';
export type { TestDatabase } from './database';
export { testRedisPrefix, flushPrefix, TEST_REDIS_URL } from './redis';
export { waitFor } from './wait';
export { testConfig, configEnv, TEST_OPERATOR_KEY } from './config';
export { apiClient } from './http';
export type { ApiCall, HttpResult } from './http';
export { startTestStack } from './stack';
export type { TestStack, TestStackApps, TestStackOptions } from './stack';
