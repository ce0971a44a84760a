import { CLI_CONTEXT } from '../audit/events.js'
import { toPublicClient } from '../clients/service.js'
import { type Command, optionalString, parseScopes, requireString, UsageError } from './command.js'
import { fields, table } from './output.js'

// Client commands call the clients service only (src/clients/service.ts), the one the
// admin HTTP API uses: creating a client here or over HTTP is the same operation.

const create: Command = {
  name: 'clients create',
  summary: 'Register a confidential client for the client_credentials grant; prints its secret once',
  options: {
    name: { type: 'string', placeholder: 'NAME', description: 'what the client is (required)' },
    scopes: {
      type: 'string',
      placeholder: 'SCOPES',
      description:
        'space-separated scopes from SCOPES the client may request (required; "" for introspection only)',
    },
  },
  notes: ['example: badge clients create --name billing-worker --scopes "profile:read"'],
  async run(ctx, input) {
    const name = requireString(input, 'name')
    // Present but empty is a client that only introspects: it authenticates, never acts.
    const scopesText = optionalString(input, 'scopes')
    if (scopesText === undefined) throw new UsageError('--scopes is required')
    const scopes = parseScopes(scopesText, ctx.config.scopes)
    const created = await ctx.services.clients.createClient({ name, scopes }, CLI_CONTEXT)
    const { client_id, ...rest } = toPublicClient(created.client)
    const client = { client_id, client_secret: created.clientSecret, ...rest }
    const text = [
      fields([
        ['client_id', client.client_id],
        ['client_secret', client.client_secret],
        ['name', client.name],
        ['scopes', client.scopes.join(' ')],
      ]),
      'The secret is shown only now: Badge keeps just its hash.',
    ].join('\n')
    return { json: client, text }
  },
}

const list: Command = {
  name: 'clients list',
  summary: 'List registered clients (never their secrets)',
  async run(ctx) {
    const items = (await ctx.services.clients.listClients()).map(toPublicClient)
    const text = items.length
      ? table(
          ['CLIENT_ID', 'NAME', 'SCOPES', 'CREATED'],
          items.map((c) => [c.client_id, c.name, c.scopes.join(' '), c.created_at]),
        )
      : 'No clients.'
    return { json: { items }, text }
  },
}

const remove: Command = {
  name: 'clients delete',
  summary: 'Delete a client: its secret stops working at once (issued access tokens live until they expire)',
  args: ['<client_id>'],
  async run(ctx, input) {
    const clientId = input.positionals[0]!
    await ctx.services.clients.deleteClient(clientId, CLI_CONTEXT)
    return { json: { client_id: clientId, deleted: true }, text: `Deleted client ${clientId}.` }
  },
}

export const clientCommands: Command[] = [create, list, remove]
