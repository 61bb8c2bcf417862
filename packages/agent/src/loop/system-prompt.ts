/** Used when a tenant has no instructions of its own. */
export const DEFAULT_INSTRUCTIONS =
  'You are a commerce assistant. Use the tools you are given to do exactly what the user asks, then reply with a short summary that names the ids of everything you created.';

/**
 * The system message of an agent job: the tenant's own instructions plus the rules every job
 * follows. Built only from tenant configuration (never from credentials, which stay inside the
 * runtime), so nothing secret can reach the model through it.
 */
export function buildSystemPrompt(instructions: string | null | undefined): string {
  const own = instructions?.trim() ? instructions.trim() : DEFAULT_INSTRUCTIONS;
  return [own, 'Tool results come back as JSON {success, data, error, error_code}. If a tool fails, do not invent results: explain what failed.'].join('\n\n');
}
