import type { Config } from '@agents/config';
import type { Db } from '@agents/db';
import { silentLogger } from '@agents/observability';
import type { Logger } from '@agents/observability';
import { testConfig } from './config';
import { createTestDatabase } from './database';
import type { TestDatabase } from './database';
import { apiClient } from './http';
import type { ApiCall } from './http';
import { flushPrefix, testRedisPrefix } from './redis';

interface Served {
  url: string;
  close(): Promise<void>;
}

/**
 * The starters of the processes a stack runs, passed in by the test (`{ createSandboxServer,
 * startApi, startWorker }` as the apps export them) so testkit does not depend on the apps.
 */
export interface TestStackApps {
  createSandboxServer: (opts: { port: number; logger: Logger }) => Promise<Served>;
  startApi: (config: Config, logger: Logger, opts: { port: number }) => Promise<Served>;
  startWorker: (config: Config, logger: Logger, opts?: never) => Promise<{ close(graceMs?: number): Promise<void> }>;
}

export interface TestStackOptions<T extends TestStackApps> {
  /** Start of the test database's name. */
  label: string;
  /** Config variables over testConfig's; DATABASE_URL, REDIS_PREFIX and SANDBOX_URL are the stack's own. */
  env?: Record<string, string | undefined>;
  /** Logger of the api and the worker (one for both, or one each); silent by default. The sandbox is always silent. */
  logger?: Logger | { api: Logger; worker: Logger };
  /** Options of startWorker. */
  worker?: Parameters<T['startWorker']>[2];
}

export interface TestStack<T extends TestStackApps> {
  config: Config;
  db: Db;
  prefix: string;
  /** A test that restarts the sandbox assigns the new one here, so stop() closes it. */
  sandbox: Awaited<ReturnType<T['createSandboxServer']>>;
  api: Awaited<ReturnType<T['startApi']>>;
  /** A test that closes the worker itself sets this to undefined. */
  worker: Awaited<ReturnType<T['startWorker']>> | undefined;
  /** JSON client of the api with the operator key. */
  call: ApiCall;
  /** Closes worker, api and sandbox, drops the database and deletes the Redis prefix (each tried even if one fails). */
  stop(): Promise<void>;
}

/**
 * One test file's whole system in this process: a fresh database, its own Redis prefix, the
 * sandbox, an api and a worker, all on free ports. If a part fails to start, what had started is
 * stopped before the error is thrown, so a failed beforeAll leaks nothing.
 */
export async function startTestStack<T extends TestStackApps>(apps: T, opts: TestStackOptions<T>): Promise<TestStack<T>> {
  const loggers =
    opts.logger === undefined
      ? { api: silentLogger(), worker: silentLogger() }
      : 'api' in opts.logger
        ? opts.logger
        : { api: opts.logger, worker: opts.logger };
  const prefix = testRedisPrefix();
  let tdb: TestDatabase | undefined;
  const stack = { prefix } as TestStack<T>;

  async function stop(): Promise<void> {
    const steps: (() => Promise<void> | undefined)[] = [
      () => stack.worker?.close(1000),
      () => stack.api?.close(),
      () => stack.sandbox?.close(),
      () => tdb?.close(),
      () => flushPrefix(prefix),
    ];
    const errors: unknown[] = [];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length) throw errors[0];
  }
  stack.stop = stop;

  try {
    tdb = await createTestDatabase(opts.label);
    stack.db = tdb.db;
    stack.sandbox = (await apps.createSandboxServer({ port: 0, logger: silentLogger() })) as TestStack<T>['sandbox'];
    stack.config = testConfig({ ...opts.env, DATABASE_URL: tdb.url, REDIS_PREFIX: prefix, SANDBOX_URL: stack.sandbox.url });
    stack.api = (await apps.startApi(stack.config, loggers.api, { port: 0 })) as TestStack<T>['api'];
    const startWorker = apps.startWorker as (config: Config, logger: Logger, opts?: TestStackOptions<T>['worker']) => ReturnType<T['startWorker']>;
    stack.worker = await startWorker(stack.config, loggers.worker, opts.worker);
    stack.call = apiClient(stack.api.url);
    return stack;
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
