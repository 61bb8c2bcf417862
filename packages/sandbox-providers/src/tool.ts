import type { z } from 'zod';
import type { ProviderObject, SandboxTool, ToolContext } from './types';

/**
 * Declares a tool with a typed handler. The handler's `args` type comes from the schema; the state
 * store parses arguments with the same schema before calling it, so the cast at the boundary is safe.
 */
export function defineTool<S extends z.ZodObject>(
  name: string,
  description: string,
  inputSchema: S,
  handler: (args: z.output<S>, ctx: ToolContext) => ProviderObject,
): SandboxTool {
  return { name, description, inputSchema, handler: handler as (args: unknown, ctx: ToolContext) => ProviderObject };
}
