import type { AddressInfo } from 'node:net'
import t from 'tap'
import { SETTLE_MS } from '../../src/sessions/revocation-log.js'
import { ADMIN_ENV, adminToken, basic, createClient, form } from '../helpers/admin.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { login } from '../helpers/flows.js'

// GET /v1/revocations (docs/contract.md §11): registered clients read the feed as JSON
// pages (cursor, ETag) or as a live event stream that resumes from Last-Event-ID.

function sidOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid
}

/** Reads server-sent events from a fetch response, one parsed `data` at a time. */
function events(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  return async function next(): Promise<{ id: string; data: Record<string, unknown> }> {
    for (;;) {
      const end = buffer.indexOf('\n\n')
      if (end !== -1) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        if (block.startsWith(':')) continue
        const field = (name: string) =>
          block
            .split('\n')
            .find((l) => l.startsWith(`${name}: `))
            ?.slice(name.length + 2) ?? ''
        return { id: field('id'), data: JSON.parse(field('data')) }
      }
      const { value, done } = await reader.read()
      if (done) throw new Error('stream ended')
      buffer += value
    }
  }
}

await eachDialect(t, async (t, dialect) => {
  const { app, clock } = await buildTestApp(t, ADMIN_ENV, dialect)
  const client = await createClient(app, await adminToken(app), ['profile:read'], 'resource server')
  const auth = basic(client.client_id, client.client_secret)
  const feed = (query = '', headers: Record<string, string> = {}) =>
    app.inject({ url: `/v1/revocations${query}`, headers: { ...auth, ...headers } })

  await t.test('only registered clients may read the feed: otherwise 401 invalid_client', async (t) => {
    for (const headers of [{}, basic(client.client_id, 'wrong secret')]) {
      const res = await app.inject({ url: '/v1/revocations', headers })
      t.equal(res.statusCode, 401)
      t.equal(res.json().error, 'invalid_client')
    }
  })

  await t.test('a cursor that is not one of ours is 400 invalid_request', async (t) => {
    for (const since of ['abc', '-1', '1'.repeat(16)]) {
      const res = await feed(`?since=${since}`)
      t.equal(res.statusCode, 400)
      t.equal(res.json().error, 'invalid_request')
    }
  })

  await t.test('ended sessions and cut-off users are listed, with a cursor and an ETag', async (t) => {
    const first = (await feed()).json()
    const { user, tokens } = await login(app)
    await form(app, '/oauth/revoke', { token: tokens.refresh_token })
    const res = await feed(`?since=${first.cursor}`)
    t.equal(res.statusCode, 200)
    const page = res.json()
    t.same(
      page.sessions.map((s: { sid: string }) => s.sid),
      [sidOf(tokens.access_token)],
    )
    t.same(page.users, [])
    t.equal(page.has_more, false)
    const etag = res.headers.etag as string
    t.match(etag, /^"[\w-]+"$/)
    const again = await feed(`?since=${first.cursor}`, { 'if-none-match': etag })
    t.equal(again.statusCode, 304, 'unchanged: 304 Not Modified')

    const other = await login(app)
    const changed = await app.inject({
      method: 'POST',
      url: '/v1/me/password',
      headers: { authorization: `Bearer ${other.tokens.access_token}` },
      payload: { current_password: other.user.password, new_password: 'a brand new passphrase' },
    })
    t.equal(changed.statusCode, 204)
    const after = await feed(`?since=${first.cursor}`, { 'if-none-match': etag })
    t.equal(after.statusCode, 200, 'changed: a new page')
    t.same(
      after.json().users.map((u: { sub: string }) => u.sub),
      [other.user.id],
    )
    t.not(after.json().users[0].sub, user.id)
  })

  await t.test('the cursor moves past entries once they are settled', async (t) => {
    clock.advance(SETTLE_MS + 1000)
    const page = (await feed()).json()
    t.ok(page.sessions.length > 0)
    const next = (await feed(`?since=${page.cursor}`)).json()
    t.same([next.sessions, next.users], [[], []], 'nothing after the cursor')
  })

  await t.test('the event stream sends the backlog, then live events, and resumes', async (t) => {
    await app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const controller = new AbortController()
    t.teardown(() => controller.abort())
    const open = (headers: Record<string, string> = {}) =>
      fetch(`${base}/v1/revocations`, {
        headers: { ...auth, accept: 'text/event-stream', ...headers },
        signal: controller.signal,
      })
    const res = await fetch(`${base}/v1/revocations`, {
      headers: { ...auth, accept: 'text/event-stream' },
      signal: controller.signal,
    })
    t.equal(res.status, 200)
    t.match(res.headers.get('content-type'), /^text\/event-stream/)
    const next = events(res)
    const backlog = await next()
    t.ok((backlog.data.sessions as unknown[]).length > 0, 'the backlog first')

    const { tokens } = await login(app)
    await form(app, '/oauth/revoke', { token: tokens.refresh_token })
    const live = await next()
    const [entry] = live.data.sessions as { sid: string; revoked_at: number }[]
    t.equal(entry?.sid, sidOf(tokens.access_token), 'then each revocation as it happens')
    t.equal(entry?.revoked_at, Math.floor(clock() / 1000))

    const resumed = await open({ 'last-event-id': backlog.id })
    const replay = events(resumed)
    const first = await replay()
    t.ok(
      (first.data.sessions as { sid: string }[]).some((s) => s.sid === sidOf(tokens.access_token)),
      'resuming from the backlog’s id replays what came after it',
    )
  })
})
