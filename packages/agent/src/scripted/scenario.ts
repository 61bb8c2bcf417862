import { z } from 'zod';

/**
 * A scripted scenario: the first user message selects it, then the number of assistant messages
 * already in the conversation selects the turn. Fixture files use these snake_case field names
 * (the same casing as the OpenAI wire format they produce).
 */

/** Model-facing tool names: OpenAI's `^[a-zA-Z0-9_-]{1,64}$`, by convention `<server>__<tool>`. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const toolCallSpecSchema = z.object({
  name: z.string().regex(TOOL_NAME, 'tool name must match ^[a-zA-Z0-9_-]{1,64}$ (use <server>__<tool>)'),
  /** Arguments object; string values may contain templates (see template.ts). */
  arguments: z.record(z.string(), z.unknown()).default({}),
});

const turnSpecSchema = z
  .object({
    /** Tool calls to make this turn (ids are assigned as call_<turn>_<i>). */
    tool_calls: z.array(toolCallSpecSchema).min(1).optional(),
    /** Text of the reply; the final answer when there are no tool calls. May contain templates. */
    content: z.string().optional(),
  })
  .refine((t) => t.tool_calls !== undefined || t.content !== undefined, {
    message: 'a turn needs tool_calls or content',
  });

export const scenarioSchema = z.object({
  name: z.string().min(1),
  description: z.string().optional(),
  /** Which seed tenant the scenario was written for (informational). */
  tenant: z.string().optional(),
  /** A user message that selects this scenario; listed when nothing matches. */
  example: z.string().optional(),
  /**
   * Matched case-insensitively against the first user message; any entry may match.
   * `/pattern/` (optionally `/pattern/su`) is a regular expression, anything else a substring.
   */
  match: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  turns: z.array(turnSpecSchema).min(1),
  /** Keep answering with the last turn forever (to exercise max_iterations); default false = final message past the end. */
  repeat_last_turn: z.boolean().optional(),
});

export type ToolCallSpec = z.input<typeof toolCallSpecSchema>;
export type TurnSpec = z.input<typeof turnSpecSchema>;
export type Scenario = z.input<typeof scenarioSchema>;

export class ScenarioError extends Error {
  readonly code = 'invalid_scenario' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}

/** Validates a scenario (from a file or built in code); `source` names it in the error. */
export function parseScenario(value: unknown, source: string): z.output<typeof scenarioSchema> {
  const parsed = scenarioSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ScenarioError(`Invalid scenario in ${source}: ${issues}`);
  }
  for (const m of toList(parsed.data.match)) compileMatcher(m, `${source} (${parsed.data.name})`);
  return parsed.data;
}

export function toList(match: string | string[]): string[] {
  return Array.isArray(match) ? match : [match];
}

/** `/re/flags` → case-insensitive RegExp; otherwise a lower-cased substring test. */
export function compileMatcher(pattern: string, source: string): (text: string) => boolean {
  const re = /^\/(.+)\/([a-z]*)$/s.exec(pattern);
  if (re) {
    const body = re[1] ?? '';
    const flags = new Set((re[2] ?? '').split('').filter((f) => f !== 'g' && f !== 'y'));
    flags.add('i');
    let compiled: RegExp;
    try {
      compiled = new RegExp(body, [...flags].join(''));
    } catch (err) {
      throw new ScenarioError(`Invalid match regex ${pattern} in ${source}: ${(err as Error).message}`);
    }
    return (text) => compiled.test(text);
  }
  const needle = pattern.toLowerCase();
  return (text) => text.toLowerCase().includes(needle);
}
