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

// On PostgreSQL a precompiled statement is also a named prepared statement on each pool
// connection: parsed and planned once per connection instead of on every call (the
// driver wrapper in db/index.ts asks preparedStatementName for every statement it sends).
const preparedNames = new Map<string, string>()
// `select *`, `"s".*` (not `count(*)`).
const SELECTS_STAR = /(?:^|[\s,."])\*/

/** Marks `sql` (with $n parameters) to be prepared once on each PostgreSQL connection. */
export function prepareOnEachConnection(sql: string): void {
  if (!preparedNames.has(sql)) preparedNames.set(sql, `badge_${preparedNames.size + 1}`)
}

/** The name `sql` is prepared under on each connection, or undefined for any other statement. */
export function preparedStatementName(sql: string): string | undefined {
  return preparedNames.get(sql)
}

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
  // A prepared statement's result columns must stay what they were when it was prepared:
  // a `*` would grow with the next additive migration, and PostgreSQL would refuse to run
  // it on every pooled connection ("cached plan must not change result type").
  if (SELECTS_STAR.test(compiled.sql))
    throw new Error(`precompile: name the columns (db/schema.ts *_COLUMNS), not *: ${compiled.sql}`)
  prepareOnEachConnection(compiled.sql)
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
