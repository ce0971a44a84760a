import type { Compilable, CompiledQuery, Kysely, QueryResult, Transaction } from 'kysely'
import type { Database } from './schema.js'

// Kysely builds a query's syntax tree and compiles it to SQL on every call. For the few
// statements on the busiest paths (refresh rotation, client authentication) that work is
// a tenth of the request (bench/RESULTS.md), and its result never changes: only the
// values do. A precompiled query is built once, with a placeholder for each argument, and
// executed with the SQL kept and the arguments put in the placeholders' slots. The SQL is
// still Kysely's, for the database's own dialect, and the values are still bound
// parameters. (docs/performance.md: "Precompiled queries".)

type Executor = Kysely<Database> | Transaction<Database>

/**
 * `build(...args)` compiled once; the returned function runs it on `executor` (the
 * database or a transaction) with new arguments. Values the builder writes itself (a
 * null, a constant) stay as compiled. Throws at start-up if an argument does not reach
 * the SQL as exactly one parameter, so a builder that transforms its arguments is caught.
 */
export function precompile<A extends unknown[], R>(
  db: Kysely<Database>,
  arity: A['length'],
  build: (db: Kysely<Database>, ...args: A) => Compilable<R>,
): (executor: Executor, ...args: A) => Promise<QueryResult<R>> {
  const placeholders = Array.from({ length: arity }, (_, i) => `\u0000badge precompiled argument ${i}\u0000`)
  const compiled = build(db, ...(placeholders as A)).compile()
  const slots = compiled.parameters.map((value) => placeholders.indexOf(value as string))
  for (let i = 0; i < arity; i++)
    if (slots.filter((slot) => slot === i).length !== 1)
      throw new Error(`precompile: argument ${i} is not exactly one parameter of ${compiled.sql}`)
  return (executor, ...args) =>
    executor.executeQuery<R>({
      ...compiled,
      parameters: slots.map((slot, i) => (slot < 0 ? compiled.parameters[i] : args[slot])),
    } as CompiledQuery<R>)
}
