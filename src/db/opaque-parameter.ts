import { type RawBuilder, sql } from 'kysely'

/**
 * A bound string the query planner cannot look into: `cast(? as text)`, same value, same
 * index use. SQLite's planner reads the value of a bare `?` compared with a column of a
 * join, and a statement whose plan read a bound value is prepared again each time a value
 * is bound to it, so a cached statement gains nothing: the refresh rotation's joined read
 * took 59 µs instead of 13 (docs/performance.md: "Bound values in joins"). Use it for the
 * lookup value of every joined read on a hot path. PostgreSQL plans the same either way.
 */
export function opaqueParameter(value: string): RawBuilder<string> {
  return sql<string>`cast(${value} as text)`
}
