import { z } from 'zod';
import type { SandboxTool } from './types';

const cache = new WeakMap<SandboxTool, Record<string, unknown>>();

/**
 * JSON Schema (draft 2020-12) of a tool's input, as tools/list advertises it. Computed once per tool
 * per process: converting on every tools/list would cost more than the call itself.
 */
export function toolInputJsonSchema(tool: SandboxTool): Record<string, unknown> {
  let schema = cache.get(tool);
  if (!schema) {
    const raw = z.toJSONSchema(tool.inputSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    const { $schema: _drop, ...rest } = raw;
    schema = { ...rest, type: 'object' };
    cache.set(tool, schema);
  }
  return schema;
}
