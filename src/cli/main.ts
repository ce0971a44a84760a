import { parseArgs } from 'node:util'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import { systemClock } from '../clock.js'
import { type Config, ConfigError, type Env, loadConfig } from '../config.js'
import { createDatabase } from '../db/index.js'
import { migrateToLatest } from '../db/migrations.js'
import { BadgeError } from '../errors.js'
import { KeyDecryptionError } from '../keys/encryption.js'
import { createServices } from '../services.js'
import { accountCommands } from './account.js'
import { auditCommands } from './audit.js'
import { clientCommands } from './clients.js'
import { type CliContext, type Command, UsageError } from './command.js'
import { databaseCommands } from './database.js'
import { keyCommands } from './keys.js'
import { userCommands } from './users.js'

// `badge <command> [options]`: operator commands over the same services as the HTTP
// API. Output is for people by default and JSON with --json; every failure is one
// line on stderr and a non-zero exit status (1 failed, 2 misused).

export interface CliIo {
  env: Env
  stdout: { write(text: string): unknown }
  stderr: { write(text: string): unknown }
  /** Standard input, or undefined when it is a terminal (nothing piped). */
  readStdin(): Promise<string | undefined>
}

const commands: Command[] = [
  ...userCommands,
  ...accountCommands,
  ...clientCommands,
  ...keyCommands,
  ...databaseCommands,
  ...auditCommands,
]

const COMMON_OPTIONS = {
  json: { type: 'boolean', description: 'print JSON instead of text' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    'Usage: badge <command> [options]',
    '',
    'Operator commands for a Badge database, configured by the same environment (and .env) as the server.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options for every command:',
    '  --json      print JSON instead of text',
    '  -h, --help  show help for a command',
  ].join('\n')
}

function commandHelp(command: Command): string {
  const options = Object.entries({ ...command.options, ...COMMON_OPTIONS }).map(([name, spec]) => {
    const flag = `${'short' in spec && spec.short ? `-${spec.short}, ` : ''}--${name}${'placeholder' in spec && spec.placeholder ? ` ${spec.placeholder}` : ''}`
    return [flag, spec.description] as const
  })
  const width = Math.max(...options.map(([flag]) => flag.length))
  return [
    `Usage: badge ${command.name}${command.args ? ` ${command.args.join(' ')}` : ''} [options]`,
    '',
    command.summary,
    '',
    'Options:',
    ...options.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`),
    ...(command.notes?.length ? ['', ...command.notes] : []),
  ].join('\n')
}

/** The command named by the first one or two words of argv, and the rest. */
function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ')
    const command = commands.find((c) => c.name === name)
    if (command) return { command, rest: argv.slice(words) }
  }
  return undefined
}

function cliLogger(config: Readonly<Config>): FastifyBaseLogger {
  // Warnings only, on stderr: stdout carries the command's output.
  const level = ['fatal', 'error', 'silent'].includes(config.logLevel) ? config.logLevel : 'warn'
  return pino({ level }, pino.destination(2)) as unknown as FastifyBaseLogger
}

async function execute(command: Command, rest: string[], io: CliIo): Promise<string> {
  const specs = { ...command.options, ...COMMON_OPTIONS }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(
        Object.entries(specs).map(([name, s]) => [
          name,
          { type: s.type, ...('short' in s && s.short ? { short: s.short } : {}) },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    // node's messages run on with advice about "--"; the first sentence is the point.
    const first = (error as Error).message.split(/\.( |$)/)[0]!.replace(/^Unknown/, 'unknown')
    throw new UsageError(`${first} (see badge ${command.name} --help)`)
  }
  if (parsed.values.help) return commandHelp(command)
  const expected = command.args?.length ?? 0
  if (parsed.positionals.length !== expected) {
    throw new UsageError(
      expected
        ? `expected ${command.args!.join(' ')} (see badge ${command.name} --help)`
        : `unexpected argument "${parsed.positionals[0]}" (see badge ${command.name} --help)`,
    )
  }

  const config = loadConfig(io.env)
  const database = createDatabase({ url: config.databaseUrl, poolMax: 2 })
  try {
    const appliedMigrations = await migrateToLatest(database.db)
    const services = createServices({ config, database, clock: systemClock, log: cliLogger(config) })
    const ctx: CliContext = { config, services, appliedMigrations, readStdin: io.readStdin }
    const result = await command.run(ctx, {
      values: parsed.values as Record<string, string | boolean | undefined>,
      positionals: parsed.positionals,
    })
    return parsed.values.json ? JSON.stringify(result.json, null, 2) : result.text
  } finally {
    await database.close()
  }
}

/** One clear line for any failure; never a stack trace. */
function describe(error: unknown): string {
  if (error instanceof ConfigError || error instanceof KeyDecryptionError) return error.message
  if (error instanceof BadgeError) return error.description
  if (error instanceof Error) {
    // pg reports refused connections to every address as an AggregateError with no message.
    const inner = error instanceof AggregateError ? (error.errors[0] as Error | undefined) : undefined
    const message = error.message || inner?.message || (error as { code?: string }).code || error.name
    return message.split('\n')[0]!
  }
  return String(error)
}

/** Runs `badge` with these arguments; returns the exit status. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || ['-h', '--help', 'help'].includes(argv[0]!)) {
    io.stdout.write(`${overview()}\n`)
    return argv.length === 0 ? 2 : 0
  }
  const found = findCommand(argv)
  const group = commands.filter((c) => c.name.startsWith(`${argv[0]} `))
  if (!found && group.length && (argv.length === 1 || ['-h', '--help'].includes(argv[1]!))) {
    const width = Math.max(...group.map((c) => c.name.length))
    io.stdout.write(`${group.map((c) => `badge ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}\n`)
    return argv.length === 1 ? 2 : 0
  }
  try {
    if (!found) {
      const known = [...new Set(commands.map((c) => c.name.split(' ')[0]))]
      throw new UsageError(
        group.length
          ? `"${argv.slice(0, 2).join(' ')}" is not a command; try ${group.map((c) => c.name).join(', ')}`
          : `unknown command "${argv[0]}" (commands: ${known.join(', ')}; see badge --help)`,
      )
    }
    io.stdout.write(`${await execute(found.command, found.rest, io)}\n`)
    return 0
  } catch (error) {
    io.stderr.write(`badge: ${describe(error)}\n`)
    return error instanceof UsageError ? 2 : 1
  }
}
