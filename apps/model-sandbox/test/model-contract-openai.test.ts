import { createOpenAIProvider, createScriptedModel } from '@agents/agent';
import { silentLogger } from '@agents/observability';
import { createModelServer } from '@agents/model-sandbox';
// The shared contract lives with the interface (packages/agent); the app runs it over HTTP.
import { describeModelProviderContract } from '../../../packages/agent/test/model-contract';

describeModelProviderContract('openai provider → model-sandbox over HTTP', async ({ scenarios, now }) => {
  const server = await createModelServer({ model: createScriptedModel({ scenarios, now }), logger: silentLogger() });
  const provider = createOpenAIProvider({ apiKey: 'sk-contract-test-key', baseURL: server.url, logger: silentLogger() });
  return { provider, close: () => server.close() };
});
