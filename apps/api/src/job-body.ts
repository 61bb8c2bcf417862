import type { CreateJobBody } from './schemas';
import { LIMITS, METADATA_KEY, SERVER_ID, TOOL_NAME } from './schemas';

/**
 * The job-submission body (`createJobBody`) as zod parses it, for the bodies this can vouch for,
 * without running zod: the hot path parses every submission, and zod's parse was ~3% of the API's
 * CPU. Returns exactly what `createJobBody.parse` returns (same keys in the same order, fresh
 * objects and arrays, `type` and a step's `args` defaulted), or undefined whenever it cannot be sure
 * zod accepts the body — anything invalid, unusual (a `__proto__` key, which zod drops from a
 * record) or costly to check here (a callback URL): the caller then runs zod, which also writes
 * every error. It never refuses anything itself.
 */
export function fastJobBody(b: unknown): CreateJobBody | undefined {
  if (!isJsonObject(b)) return undefined;
  for (const k of Object.keys(b)) if (!(KNOWN_KEYS as readonly string[]).includes(k)) return undefined;
  const { type = 'agent', input, steps, servers, metadata, callback_url, max_iterations, model, environment } = b as Record<string, unknown>;
  if (type !== 'agent' && type !== 'workflow') return undefined;
  if (input !== undefined && !(typeof input === 'string' && input.length >= 1 && input.length <= LIMITS.input)) return undefined;
  if (callback_url !== undefined) return undefined;
  if (max_iterations !== undefined && !(typeof max_iterations === 'number' && Number.isInteger(max_iterations) && max_iterations >= 1 && max_iterations <= LIMITS.maxIterations)) return undefined;
  if (model !== undefined && !(typeof model === 'string' && model.length >= 1 && model.length <= LIMITS.model)) return undefined;
  if (environment !== undefined && environment !== 'test' && environment !== 'live') return undefined;
  if (type === 'agent' ? input === undefined || steps !== undefined : steps === undefined) return undefined;

  const out: Record<string, unknown> = { type };
  if (input !== undefined) out.input = input;
  if (steps !== undefined) {
    const parsed = fastSteps(steps);
    if (!parsed) return undefined;
    out.steps = parsed;
  }
  if (servers !== undefined) {
    if (!Array.isArray(servers) || servers.length < 1 || servers.length > LIMITS.servers) return undefined;
    for (const s of servers) if (typeof s !== 'string' || !SERVER_ID.test(s)) return undefined;
    out.servers = servers.slice();
  }
  if (metadata !== undefined) {
    if (!isJsonObject(metadata)) return undefined;
    const m: Record<string, string> = {};
    let pairs = 0;
    for (const k of Object.keys(metadata)) {
      const v = metadata[k];
      if (k === '__proto__' || k.length > LIMITS.metadataKey || !METADATA_KEY.test(k) || typeof v !== 'string' || v.length > LIMITS.metadataValue || ++pairs > LIMITS.metadataPairs) return undefined;
      m[k] = v;
    }
    out.metadata = m;
  }
  if (max_iterations !== undefined) out.max_iterations = max_iterations;
  if (model !== undefined) out.model = model;
  if (environment !== undefined) out.environment = environment;
  return out as CreateJobBody;
}

/** createJobBody's keys in its shape's order (the order zod's output has them in). */
const KNOWN_KEYS = ['type', 'input', 'steps', 'servers', 'metadata', 'callback_url', 'max_iterations', 'model', 'environment'] as const;

function fastSteps(steps: unknown): CreateJobBody['steps'] | undefined {
  if (!Array.isArray(steps) || steps.length < 1 || steps.length > LIMITS.steps) return undefined;
  const out: NonNullable<CreateJobBody['steps']> = [];
  for (const step of steps) {
    if (!isJsonObject(step)) return undefined;
    const keys = Object.keys(step);
    const { tool, args } = step;
    if (keys.length !== (args === undefined ? 1 : 2) || typeof tool !== 'string' || !TOOL_NAME.test(tool)) return undefined;
    if (args !== undefined && (!isJsonObject(args) || Object.prototype.hasOwnProperty.call(args, '__proto__'))) return undefined;
    out.push({ tool, args: args === undefined ? {} : { ...args } });
  }
  return out;
}

/** An object as JSON.parse makes one (zod's records and objects take these, and only copy own keys). */
function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}
