import { randomUUID } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
// In another project: import { badgeVerify, requireAuthentication, requireScopes } from 'badge-auth/verify'
import { badgeVerify, requireAuthentication, requireScopes } from '../src/verify/index.js'

// A tiny notes API that trusts Badge's access tokens: each user sees only their own
// notes, reading needs `notes:read` and writing `notes:write`; exporting them all also
// needs a login with a second factor (RFC 9470 step-up). It never calls Badge per
// request; it fetches Badge's JWKS once and verifies every token in memory.
//
// Run it beside Badge (add the scopes to Badge's SCOPES and DEFAULT_USER_SCOPES):
//   ISSUER=http://localhost:3000 PORT=4000 npx tsx examples/resource-server.ts
// With a registered client's credentials it also follows Badge's revocation feed, and
// refuses tokens of logged-out sessions and cut-off users within seconds:
//   BADGE_CLIENT_ID=… BADGE_CLIENT_SECRET=… ISSUER=… npx tsx examples/resource-server.ts
// DPoP-bound tokens (RFC 9449, docs/dpop.md) are accepted with `Authorization: DPoP` and a
// proof, and refused as Bearer; PUBLIC_URL is this API's own base URL, which proofs name.

export interface NotesApiOptions {
  /** Badge's ISSUER. */
  issuer: string
  /** Badge's AUDIENCE, when it differs from ISSUER. */
  audience?: string
  /** Badge's JWKS; defaults to <issuer>/.well-known/jwks.json. */
  jwksUrl?: string
  /** A registered client's credentials: follow Badge's revocation feed (docs/contract.md §11). */
  revocations?: {
    url?: string
    clientId: string
    clientSecret: string
    pollIntervalSeconds?: number
    stream?: boolean
  }
  /** This API's public base URL, e.g. https://notes.example.com (DPoP proofs' htu); default: the Host header. */
  publicUrl?: string
  logger?: boolean
  /** Tests move time by hand. */
  clock?: () => number
}

interface Note {
  id: string
  text: string
  created_at: string
}

export async function buildNotesApi(options: NotesApiOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false })
  await app.register(badgeVerify, {
    issuer: options.issuer,
    audience: options.audience,
    jwksUrl: options.jwksUrl,
    revocations: options.revocations,
    dpop: { url: options.publicUrl },
    clock: options.clock,
  })

  const notesByUser = new Map<string, Note[]>()

  app.get('/notes', { onRequest: [app.authenticate, requireScopes('notes:read')] }, async (request) => ({
    items: notesByUser.get(request.auth!.claims.sub) ?? [],
  }))

  // A sensitive route: a password-only token gets 401 insufficient_user_authentication,
  // and the client logs in again with its second factor.
  app.get(
    '/notes/export',
    { onRequest: [app.authenticate, requireScopes('notes:read'), requireAuthentication({ mfa: true })] },
    async (request) => ({ items: notesByUser.get(request.auth!.claims.sub) ?? [] }),
  )

  app.post<{ Body: { text?: unknown } }>(
    '/notes',
    { onRequest: [app.authenticate, requireScopes('notes:write')] },
    async (request, reply) => {
      const text = request.body?.text
      if (typeof text !== 'string' || text.length === 0 || text.length > 1000) {
        return reply
          .code(400)
          .send({ error: 'invalid_request', error_description: 'text must be 1 to 1000 characters.' })
      }
      const note: Note = { id: randomUUID(), text, created_at: new Date().toISOString() }
      const sub = request.auth!.claims.sub
      notesByUser.set(sub, [...(notesByUser.get(sub) ?? []), note])
      return reply.code(201).send(note)
    },
  )
  return app
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await buildNotesApi({
    issuer: process.env.ISSUER ?? 'http://localhost:3000',
    audience: process.env.AUDIENCE,
    jwksUrl: process.env.JWKS_URL,
    publicUrl: process.env.PUBLIC_URL,
    revocations: process.env.BADGE_CLIENT_ID
      ? {
          url: process.env.BADGE_URL,
          clientId: process.env.BADGE_CLIENT_ID,
          clientSecret: process.env.BADGE_CLIENT_SECRET ?? '',
          pollIntervalSeconds: process.env.REVOCATION_POLL_SECONDS
            ? Number(process.env.REVOCATION_POLL_SECONDS)
            : undefined,
          stream: process.env.REVOCATION_STREAM !== 'false',
        }
      : undefined,
    logger: true,
  })
  await app.listen({ port: Number(process.env.PORT ?? 4000), host: process.env.HOST ?? '127.0.0.1' })
}
