import type { Config } from '../config.js'
import type { Services } from '../services.js'

// What every operator command is: a name, its options (node:util parseArgs), and a
// function over the same services the HTTP API uses, returning both a human-readable
// text and the JSON printed with --json.

export interface OptionSpec {
  type: 'string' | 'boolean'
  short?: string
  /** Shown in --help, e.g. "EMAIL". */
  placeholder?: string
  description: string
}

export interface CommandInput {
  values: Record<string, string | boolean | undefined>
  positionals: string[]
}

export interface CommandResult {
  text: string
  json: unknown
}

export interface CliContext {
  config: Readonly<Config>
  services: Services
  /** Migrations applied when the context opened (commands always migrate first, like the server). */
  appliedMigrations: string[]
  /** All of standard input, for secrets that should not appear in the process list. */
  readStdin(): Promise<string | undefined>
}

export interface Command {
  /** e.g. "users create", or "migrate". */
  name: string
  summary: string
  /** Positional arguments, e.g. ["<id|email>"]; each is required. */
  args?: string[]
  options?: Record<string, OptionSpec>
  /** Extra lines for --help. */
  notes?: string[]
  run(ctx: CliContext, input: CommandInput): Promise<CommandResult>
}

/** A mistake in how the command was called: exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** A failure the operator must act on, e.g. "no such user": exit status 1. */
export class CommandError extends Error {
  override name = 'CommandError'
}

export function requireString(input: CommandInput, name: string): string {
  const value = input.values[name]
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required`)
  return value
}

export function optionalString(input: CommandInput, name: string): string | undefined {
  const value = input.values[name]
  return typeof value === 'string' ? value : undefined
}

/** Space- or comma-separated scopes, each of which must be in SCOPES. */
export function parseScopes(text: string, known: readonly string[]): string[] {
  const scopes = [...new Set(text.split(/[\s,]+/).filter(Boolean))]
  const unknown = scopes.filter((s) => !known.includes(s))
  if (unknown.length)
    throw new UsageError(`unknown scope ${unknown.join(' ')} (SCOPES is "${known.join(' ')}")`)
  return scopes
}
