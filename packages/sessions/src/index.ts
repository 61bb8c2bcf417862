// Sessions (API.md "Sessions (CodeSpar-compatible)"): the API's half and the worker's half.
export { createSessionAccess, SESSION_MAX_LIFETIME_MS } from './session-access';
export type { FoundSession, SessionAccess, SessionAccessDeps } from './session-access';
export { presentSession, isSessionActive } from './session-view';
export type { SessionView } from './session-view';
export { sessionConnections, sessionTools, LIST_TOOLS } from './session-tools';
export type { SessionConnections, SessionServer, SessionTool } from './session-tools';
export { createSessionCalls, SESSION_CALL_WAIT_MS } from './session-calls';
export type { SessionCalls, SessionCallsDeps } from './session-calls';
export { toolCallRequest } from './tool-call-request';
export type { ToolCallRequest } from './tool-call-request';
export { createSessionBody, executeBody, sendBody, SESSION_ID } from './session-body';
export { SessionError, SESSION_ERROR_STATUS } from './session-error';
export type { SessionErrorCode } from './session-error';

// Worker: a session's tool call, run on its tenant's queue.
export { createSessionCallHandler, TOOL_NOT_REGISTERED } from './run-session-call';
export type { SessionCallRunDeps, SessionCallOutcome } from './run-session-call';
export { createRuntimeSessionCache } from './runtime-session-cache';
export type { RuntimeSessionCache } from './runtime-session-cache';
export { createSessionMessages, jobFailureStatus } from './session-messages';
export type { SendEnd, SendEventName, SendStreamItem, SessionMessages, SessionMessagesDeps } from './session-messages';
export { loadSendResult, sendToolCalls } from './send-result';
export type { SendResult, SendToolCall } from './send-result';
