// Model providers (src/model, src/scripted). Other parts of the package append their exports below.
export type {
  AssistantMessage,
  ChatMessage,
  ModelCallOptions,
  ModelProvider,
  ModelRequest,
  ModelTurn,
  SystemMessage,
  ToolCall,
  ToolDefinition,
  ToolMessage,
  UserMessage,
} from './model/types';
export { ModelError, isModelError } from './model/model-error';
export { createAbortError, isAbortError } from './model/abort';
export { createOpenAIProvider, OPENAI_DEFAULT_BASE_URL } from './model/openai-provider';
export type { OpenAIProviderOptions } from './model/openai-provider';
export { computeRetryDelayMs, isRetryableStatus, parseRetryAfterMs } from './model/retry-policy';
export type { BackoffOptions } from './model/retry-policy';
export { createModelProvider } from './model/create-model-provider';
export type { ModelProviderSelection } from './model/create-model-provider';
export { createScriptedModel, estimateTokens } from './scripted/scripted-model';
export type { ScriptedModelOptions } from './scripted/scripted-model';
export { loadScenarios, DEFAULT_FIXTURES_DIR } from './scripted/load-scenarios';
export { parseScenario, scenarioSchema, ScenarioError } from './scripted/scenario';
export type { Scenario, ToolCallSpec, TurnSpec } from './scripted/scenario';
export { renderText, renderValue } from './scripted/template';
export type { TemplateContext } from './scripted/template';

// Workflow runner (src/workflow)
export { runWorkflow } from './workflow/run-workflow';
export type { WorkflowIo, WorkflowResult, WorkflowStepOutcome, WorkflowStepSpec } from './workflow/run-workflow';
export { resolveReferences, TemplateReferenceError } from './workflow/references';

// Agent loop (src/loop)
export { runAgentLoop } from './loop/run-agent-loop';
export { replaySteps, toolCallSeq, nextTurnSeq } from './loop/replay';
export type { ReplayState } from './loop/replay';
export { buildSystemPrompt, DEFAULT_INSTRUCTIONS } from './loop/system-prompt';
export { DEFAULT_MAX_ITERATIONS, MAX_TOOL_CALLS_PER_TURN } from './loop/types';
export type { AgentLoopOptions, AgentLoopResult, LoopCheckpoints, LoopStep, LoopUsage, ModelTurnPayload } from './loop/types';
