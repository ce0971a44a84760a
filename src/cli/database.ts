import type { Command } from './command.js'

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

export const databaseCommands: Command[] = [migrate, purge]
