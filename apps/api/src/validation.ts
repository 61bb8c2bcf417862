import type { z } from 'zod';
import { validationDetails } from '@agents/jobs';
import { ApiError } from './errors';

/** Parses with a zod schema; failures become 400 validation_failed with one detail per issue. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params' | 'headers'): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new ApiError('validation_failed', `The request ${where} is invalid.`, validationDetails(where, r.error));
}
