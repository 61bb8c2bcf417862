import type { ToolErrorCode } from './errors';

export type Environment = 'test' | 'live';

/** A tenant's decrypted credentials for one server; `version` changes whenever the values do. */
export interface CredentialSet {
  values: Record<string, string>;
  version: string;
}

/** Narrow view of the credential store (the lead implements it over Postgres + packages/vault). */
export interface CredentialsSource {
  get(tenantId: string, server: string, environment: Environment): Promise<CredentialSet | null>;
}

/** A tool as a session exposes it (mirrors CodeSpar's `Tool`, plus the model-facing name). */
export interface Tool {
  /** Canonical `<server>/<tool>`. */
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
  server: string;
  /** The tool's own name on its MCP server. */
  tool: string;
  /** OpenAI-safe name (`<server>__<tool>`, or truncated + hash when that is not valid/unique). */
  model_name: string;
}

/** Result of `session.execute`; tool failures are values, never thrown. */
export interface ToolResult {
  success: boolean;
  data: unknown;
  error: string | null;
  error_code: ToolErrorCode | null;
  /** Wall-clock milliseconds inside the runtime, integer. */
  duration: number;
  server: string;
  tool: string;
  tool_call_id: string;
  /** ISO-8601 time the call entered the runtime. */
  called_at: string;
  /**
   * The call's usage record. Whoever stores the call writes it as the call's one usage row (the
   * worker in the step's checkpoint); it is not part of the CodeSpar result shape sent to clients.
   */
  record: ToolCallRecord;
}

/**
 * One usage row per execute (executed or denied). Deliberately carries no arguments or results:
 * they may hold personal data, and the caller stores those itself where it must.
 */
export interface ToolCallRecord {
  tool_call_id: string;
  tenant_id: string;
  environment: Environment;
  session_id: string;
  server: string;
  tool: string;
  success: boolean;
  error_code: string | null;
  duration_ms: number;
  /** True when scoping (or a closed session) refused the call before any server was contacted. */
  denied: boolean;
  idempotency_key: string | null;
  metadata: Record<string, string>;
}

/** A tool call about to be made: scoping and arguments checked, no server contacted yet. */
export interface ToolCallIntent {
  tenantId: string;
  environment: Environment;
  sessionId: string;
  server: string;
  tool: string;
  idempotencyKey: string | null;
}

/**
 * Admission hook run right before a call goes to its server (e.g. the monthly tool-call quota).
 * Throwing refuses the call: `execute` rejects with that error, no server is contacted and nothing
 * is metered (the call was never made).
 */
export type BeforeExecute = (call: ToolCallIntent) => Promise<void>;

export interface ExecuteOptions {
  /** Forwarded as MCP `_meta.idempotency_key`; the same key makes a retried call safe. */
  idempotencyKey?: string;
  signal?: AbortSignal;
  /** Per-call deadline in ms; defaults to the runtime's `callTimeoutMs` (60 000). */
  timeoutMs?: number;
  /** The call's `tc_` id when the caller already gave it one (a stored session call); else a new one. */
  toolCallId?: string;
}

export interface CreateSessionOptions {
  /** A stored session's id (/v1/sessions), so its calls' records name it; else a new `ses_` id. */
  id?: string;
  tenantId: string;
  environment: Environment;
  /** Exactly the servers this session may reach (the caller already intersected with the tenant's). */
  servers: string[];
  /** Copied onto every usage record; `tenant_id` is always overwritten with `tenantId`. */
  metadata?: Record<string, string>;
}

export interface Session {
  readonly id: string;
  readonly tenantId: string;
  readonly environment: Environment;
  readonly servers: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly status: 'active' | 'closed';
  readonly createdAt: Date;
  /** All tools of the session's servers; servers that cannot be reached are left out (and logged). */
  tools(): Promise<Tool[]>;
  /** Accepts `<server>/<tool>` or the model-facing name; never throws for a tool failure. */
  execute(name: string, args: unknown, opts?: ExecuteOptions): Promise<ToolResult>;
  /** Idempotent; later `execute` → `session_closed`. */
  close(): Promise<void>;
}
