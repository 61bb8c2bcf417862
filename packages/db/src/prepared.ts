import { CompiledQuery } from 'kysely';
import type { Compilable } from 'kysely';
import type { Db } from './connection';

/**
 * Compile once, execute many, for the few statements every job runs (issue 11: kysely's query
 * building was ~10 % of a worker's CPU, and Postgres parsed and planned each statement afresh).
 *
 * A prepared query is built once with kysely from placeholders (`param('name')`), compiled once,
 * and from then on executed with `db.executeQuery` on its fixed SQL and the caller's values — as
 * kysely's own "splitting build, compile and execute" recipe does, in a transaction or not. Its SQL
 * is registered as a named server-side statement (see statementNameOf / createDb's client), so each
 * pooled connection parses and plans it once.
 *
 * Only the values named by `param` vary; everything else in the built query (constants such as
 * `status in ('queued', 'running')`) is fixed at the first compile. A query whose shape depends on
 * its input (which columns a row has, how many rows) gets one compiled variant per shape key.
 */

const PARAM_PREFIX = '\u0000prepared-param:';

/** A placeholder for the value named `name`, typed as whatever the builder expects there. */
export function param<T = never>(name: string): T {
  return `${PARAM_PREFIX}${name}` as unknown as T;
}

type Slot = { name: string } | { value: unknown };

interface Compiled {
  sql: string;
  slots: Slot[];
}

/** SQL text of every prepared query -> its server-side statement name (process-wide, bounded by the code). */
const statementNames = new Map<string, string>();

/** The name a pooled connection prepares `sql` under, or undefined for any other SQL (sent unnamed). */
export function statementNameOf(sql: string): string | undefined {
  return statementNames.get(sql);
}

function compile(label: string, query: Compilable<unknown>): Compiled {
  const c = query.compile();
  const slots = c.parameters.map((v): Slot => (typeof v === 'string' && v.startsWith(PARAM_PREFIX) ? { name: v.slice(PARAM_PREFIX.length) } : { value: v }));
  if (!statementNames.has(c.sql)) statementNames.set(c.sql, `p${statementNames.size}_${label}`.slice(0, 60));
  return { sql: c.sql, slots };
}

function bind(c: Compiled, values: Record<string, unknown>): CompiledQuery {
  const parameters = c.slots.map((s) => {
    if ('value' in s) return s.value;
    if (!(s.name in values)) throw new Error(`prepared query: no value for parameter "${s.name}"`);
    return values[s.name];
  });
  return CompiledQuery.raw(c.sql, parameters);
}

export interface PreparedQuery<P extends Record<string, unknown>, R> {
  /** All result rows (for a statement without RETURNING: none). */
  execute(db: Db, values: P): Promise<R[]>;
  /** The first result row, if any. */
  first(db: Db, values: P): Promise<R | undefined>;
}

/**
 * `label` names the statement on the server (diagnostics only); `build` makes the query from
 * `param` placeholders; `shape`, when the query's SQL depends on its input, returns the key of
 * that shape (each shape is compiled once, from the first values that have it).
 */
export function prepare<P extends Record<string, unknown>, R>(
  label: string,
  build: (db: Db, values: P) => Compilable<R>,
  shape?: (values: P) => string,
): PreparedQuery<P, R> {
  const variants = new Map<string, Compiled>();
  const compiledFor = (db: Db, values: P) => {
    const key = shape ? shape(values) : '';
    let c = variants.get(key);
    if (!c) variants.set(key, (c = compile(shape ? `${label}_${variants.size}` : label, build(db, values))));
    return c;
  };
  const execute = async (db: Db, values: P) => (await db.executeQuery<R>(bind(compiledFor(db, values), values))).rows;
  return {
    execute,
    first: async (db, values) => (await execute(db, values))[0],
  };
}
