import { CLI_CONTEXT } from '../audit/events.js'
import { SIGNING_ALGS, type SigningAlg } from '../config.js'
import { type Command, optionalString, UsageError } from './command.js'
import { table } from './output.js'

const rotate: Command = {
  name: 'keys rotate',
  summary: 'Create a new active signing key; the previous one retires once its tokens have expired',
  options: {
    alg: {
      type: 'string',
      placeholder: 'ALG',
      description: `algorithm of the new key: ${SIGNING_ALGS.join(', ')} (default SIGNING_ALG)`,
    },
  },
  notes: [
    'Running servers pick the new key up within a minute, or at once when a token names it.',
    'KEY_ENCRYPTION_SECRET must be the one the servers use: a wrong secret fails before any key is written.',
  ],
  async run(ctx, input) {
    const alg = optionalString(input, 'alg') ?? ctx.config.signingAlg
    if (!(SIGNING_ALGS as readonly string[]).includes(alg)) {
      throw new UsageError(`--alg must be one of ${SIGNING_ALGS.join(', ')}`)
    }
    const rotated = await ctx.services.keys.rotate(alg as SigningAlg, CLI_CONTEXT)
    return {
      json: rotated,
      text: `Rotated: ${rotated.kid} (${rotated.alg}) is now the active signing key; any previous key is retiring.`,
    }
  },
}

const list: Command = {
  name: 'keys list',
  summary: 'List signing keys, newest first, with their lifecycle status (never private material)',
  async run(ctx) {
    const items = await ctx.services.keys.listKeys()
    const text = items.length
      ? table(
          ['KID', 'ALG', 'STATUS', 'CREATED', 'ACTIVATED', 'RETIRING'],
          items.map((k) => [k.kid, k.alg, k.status, k.created_at, k.activated_at, k.retiring_at]),
        )
      : 'No signing keys yet: the server creates one on first start (or run badge keys rotate).'
    return { json: { items }, text }
  },
}

export const keyCommands: Command[] = [rotate, list]
