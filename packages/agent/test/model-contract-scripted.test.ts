import { createScriptedModel } from '@agents/agent';
import { describeModelProviderContract } from './model-contract';

describeModelProviderContract('scripted (in process)', async ({ scenarios, now }) => ({
  provider: createScriptedModel({ scenarios, now }),
}));
