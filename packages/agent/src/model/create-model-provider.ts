import type { Logger } from '@agents/observability';
import { createScriptedModel } from '../scripted/scripted-model';
import { DEFAULT_FIXTURES_DIR, loadScenarios } from '../scripted/load-scenarios';
import { createOpenAIProvider } from './openai-provider';
import type { ModelProvider } from './types';

export interface ModelProviderSelection {
  /** OPENAI_API_KEY. Unset or empty → the scripted model (offline by default, DESIGN.md decision 8). */
  openaiApiKey?: string | undefined;
  /** OPENAI_BASE_URL: any OpenAI-compatible server, e.g. the model-sandbox's `<url>/v1`. */
  openaiBaseURL?: string | undefined;
  /** Scenario fixtures for the scripted model. Default DEFAULT_FIXTURES_DIR. */
  fixturesDir?: string | undefined;
  /** Scripted model latency per turn, ms. */
  scriptedLatencyMs?: number | undefined;
  maxRetries?: number | undefined;
  timeoutMs?: number | undefined;
  logger: Logger;
}

/** The platform default: the real `openai` client when a key is configured, else the scripted model. */
export function createModelProvider(opts: ModelProviderSelection): ModelProvider {
  if (opts.openaiApiKey) {
    return createOpenAIProvider({
      apiKey: opts.openaiApiKey,
      logger: opts.logger,
      ...(opts.openaiBaseURL ? { baseURL: opts.openaiBaseURL } : {}),
      ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
  }
  const fixturesDir = opts.fixturesDir ?? DEFAULT_FIXTURES_DIR;
  const scenarios = loadScenarios(fixturesDir);
  opts.logger.info({ scenarios: scenarios.length, fixtures_dir: fixturesDir }, 'OPENAI_API_KEY unset: using the scripted model');
  return createScriptedModel({
    scenarios,
    ...(opts.scriptedLatencyMs !== undefined ? { latencyMs: opts.scriptedLatencyMs } : {}),
  });
}
