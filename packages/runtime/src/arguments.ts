/**
 * Package-internal marker: arguments that could not be parsed (the OpenAI adapter got bad JSON).
 * Passed through `session.execute` so the refusal is metered like every other call.
 */
export class UnparsedArguments {
  constructor(readonly reason: string) {}
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
