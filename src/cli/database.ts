import { type Command, CommandError } from './command.js'

const migrate: Command = {
  name: 'migrate',
  summary: 'Apply pending database migrations (the server also does this at start)',
  async run(ctx) {
    const applied = ctx.appliedMigrations
    const text = applied.length ? `Applied migrations: ${applied.join(', ')}.` : 'The database is up to date.'
    return { json: { applied }, text }
  },
}

const purge: Command = {
  name: 'sessions purge',
  summary: 'Delete ended sessions (revoked, expired or idle) and their refresh tokens',
  notes: ['Running servers also do this every hour.'],
  async run(ctx) {
    const purged = await ctx.services.purgeSessions()
    return {
      json: purged,
      text: `Purged ${purged.sessions} ended session(s) and ${purged.refresh_tokens} refresh token(s).`,
    }
  },
}

const backup: Command = {
  name: 'backup',
  summary: 'Copy the SQLite database to FILE while the server runs (mode 0600)',
  args: ['<FILE>'],
  notes: [
    'The copy is consistent (SQLite online backup), checked with PRAGMA integrity_check, and',
    'written beside FILE first, so FILE is never partial. It holds password hashes and signing',
    'keys: keep it as private as the database. PostgreSQL: use pg_dump (docs/operations.md).',
  ],
  async run(ctx, { positionals }) {
    const copy = ctx.services.database.backup
    if (!copy) throw new CommandError('badge backup copies SQLite databases; for PostgreSQL use pg_dump.')
    const result = await copy(positionals[0]!)
    return { json: result, text: `Backed up ${result.pages} page(s) to ${result.file}.` }
  },
}

export const databaseCommands: Command[] = [migrate, purge, backup]
