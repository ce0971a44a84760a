import { createHash } from 'node:crypto'
import type { FastifyReply } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { authenticateClient } from '../clients/authenticate.js'
import type { ClientService } from '../clients/service.js'
import { invalidClient, invalidRequest } from '../errors.js'
import { errorResponses } from '../http/schemas.js'
import type { RevocationEntry } from '../verify/revoked-set.js'
import { parseCursor, type RevocationLog } from './revocation-log.js'

// GET /v1/revocations (docs/contract.md §11, docs/revocation.md): the revocation feed for
// registered clients (resource servers), as JSON pages or, with Accept: text/event-stream,
// as a live stream. Every entry is idempotent: a reader may see one twice, never miss one.

const HEARTBEAT_MS = 15_000
const CURSOR = z
  .string()
  .max(15)
  .regex(/^\d{1,15}$/)
  .describe('The cursor of an earlier answer (or the id of the last event received); omitted: from the start')

const sessionEntry = z.object({
  sid: z.uuid().max(36).describe('The session that ended'),
  revoked_at: z.int().min(0).meta({ format: 'int64' }).describe('When (NumericDate)'),
  expires_at: z
    .int()
    .min(0)
    .meta({ format: 'int64' })
    .describe('When no access token of it can be unexpired'),
})
const userEntry = z.object({
  sub: z.string().max(255).describe('The user whose tokens were cut off'),
  not_before: z
    .int()
    .min(0)
    .meta({ format: 'int64' })
    .describe('Access tokens of this user with iat before this are revoked (NumericDate)'),
  expires_at: z.int().min(0).meta({ format: 'int64' }).describe('When no such access token can be unexpired'),
})
const feedPageSchema = z
  .object({
    cursor: CURSOR.describe('Ask again with since=cursor'),
    sessions: z.array(sessionEntry).max(1000),
    users: z.array(userEntry).max(1000),
    has_more: z.boolean().describe('True when more entries wait: ask again at once'),
  })
  .meta({ id: 'RevocationFeed' })

type FeedPage = z.infer<typeof feedPageSchema>

export function toFeedPage(entries: readonly RevocationEntry[], cursor: string, hasMore: boolean): FeedPage {
  const page: FeedPage = { cursor, sessions: [], users: [], has_more: hasMore }
  for (const e of entries) {
    if (e.type === 'session')
      page.sessions.push({ sid: e.sid, revoked_at: e.revoked_at, expires_at: e.expires_at })
    else page.users.push({ sub: e.sub, not_before: e.not_before, expires_at: e.expires_at })
  }
  return page
}

export interface RevocationRouteOptions {
  clients: Pick<ClientService, 'authenticate'>
  revocations: Pick<RevocationLog, 'list' | 'subscribe'>
}

export const revocationRoutes: FastifyPluginAsyncZod<RevocationRouteOptions> = async (
  app,
  { clients, revocations },
) => {
  const streams = new Set<FastifyReply>()
  // Live streams never end by themselves: end them so the server can close.
  app.addHook('preClose', async () => {
    for (const reply of streams) reply.raw.end()
  })

  app.get(
    '/v1/revocations',
    {
      config: { limit: 'introspect' },
      schema: {
        operationId: 'listRevocations',
        summary: 'Revocation feed: sessions ended and users cut off whose access tokens may be unexpired',
        description:
          'For registered clients (HTTP Basic), typically resource servers: refuse an access token whose sid is listed, or whose iat is before its sub’s not_before. Entries stay listed until no access token they concern can be unexpired. Poll with since=<cursor> (an entry may come twice; adding it again changes nothing); answers carry an ETag and honour If-None-Match. With Accept: text/event-stream the same pages stream as events named "revocation" (id: the cursor to resume from, data: a page), first the backlog since `since` or Last-Event-ID, then live, with a comment line every 15 s as heartbeat.',
        tags: ['oauth'],
        security: [{ clientBasic: [] }],
        querystring: z.object({ since: CURSOR.optional() }),
        response: {
          200: feedPageSchema,
          304: z.null().describe('Not modified (If-None-Match)'),
          ...errorResponses(400, { 401: ['invalid_client'] }, 503),
        },
      },
    },
    async (request, reply) => {
      const client = await authenticateClient(request, clients)
      if (!client) throw invalidClient('The revocation feed needs client authentication (HTTP Basic).')
      const lastEventId = request.headers['last-event-id']
      const since = parseCursor(typeof lastEventId === 'string' ? lastEventId : request.query.since)
      if (since === undefined) throw invalidRequest('Last-Event-ID must be a cursor of this feed.')
      reply.header('cache-control', 'no-store')
      if (!(request.headers.accept ?? '').includes('text/event-stream')) {
        const { entries, cursor, more } = await revocations.list(since)
        const body = toFeedPage(entries, cursor, more)
        const etag = `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`
        reply.header('etag', etag)
        if (request.headers['if-none-match'] === etag) return reply.code(304).send(null)
        return body
      }

      // The stream: subscribe first, so nothing committed while the backlog is read is
      // lost; events arriving meanwhile wait until the backlog is written.
      let backlogDone = false
      const waiting: string[] = []
      const send = (page: FeedPage) => {
        const event = `id: ${page.cursor}\nevent: revocation\ndata: ${JSON.stringify(page)}\n\n`
        if (backlogDone) reply.raw.write(event)
        else waiting.push(event)
      }
      const unsubscribe = revocations.subscribe((entries, cursor) => send(toFeedPage(entries, cursor, false)))
      reply.hijack()
      streams.add(reply)
      const heartbeat = setInterval(() => reply.raw.write(': heartbeat\n\n'), HEARTBEAT_MS)
      const stop = () => {
        clearInterval(heartbeat)
        unsubscribe()
        streams.delete(reply)
      }
      reply.raw.on('close', stop)
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      })
      try {
        let cursor = since
        for (;;) {
          const page = await revocations.list(cursor)
          cursor = Number(page.cursor)
          reply.raw.write(
            `id: ${page.cursor}\nevent: revocation\ndata: ${JSON.stringify(toFeedPage(page.entries, page.cursor, page.more))}\n\n`,
          )
          if (!page.more) break
        }
        backlogDone = true
        for (const event of waiting.splice(0)) reply.raw.write(event)
      } catch (err) {
        request.log.warn({ err }, 'revocation stream: backlog read failed')
        reply.raw.end()
      }
      return reply
    },
  )
}
