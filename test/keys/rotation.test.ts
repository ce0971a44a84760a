import t from 'tap'
import { RETIRE_GRACE_MS } from '../../src/keys/key-store.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login } from '../helpers/flows.js'
import { ADMIN_ENV, adminToken, claimsStatus, jwksKids, kidOf, rotate } from '../helpers/keys.js'

const TTL_MS = 900_000

await eachDialect(t, async (t, dialect) => {
  await t.test(
    'rotating needs a token with the admin scope: 401 without one, 403 without the scope',
    async (t) => {
      const { app } = await buildTestApp(t, ADMIN_ENV, dialect)
      const anonymous = await app.inject({ method: 'POST', url: '/v1/admin/keys/rotate' })
      t.equal(anonymous.statusCode, 401)
      t.equal(anonymous.headers['www-authenticate'], 'Bearer realm="badge"')
      t.equal(anonymous.json().error, 'unauthorized')

      const { tokens } = await login(app)
      const user = await rotate(app, tokens.access_token)
      t.equal(user.statusCode, 403)
      t.equal(user.json().error, 'insufficient_scope')
      t.equal(
        user.headers['www-authenticate'],
        'Bearer realm="badge", error="insufficient_scope", scope="admin"',
      )

      const listed = await app.inject({ url: '/v1/admin/keys', headers: bearer(tokens.access_token) })
      t.equal(listed.statusCode, 403)
      t.equal(listed.json().error, 'insufficient_scope')
      t.equal((await jwksKids(app)).length, 1, 'refused rotations created no key')
    },
  )

  await t.test(
    'rotation makes a new active key that signs from then on; the old one keeps verifying',
    async (t) => {
      const { app, clock } = await buildTestApp(t, ADMIN_ENV, dialect)
      const admin = await adminToken(app)
      const before = await login(app)
      const oldKid = kidOf(before.tokens.access_token)
      clock.advance(1_000)

      const res = await rotate(app, admin)
      t.equal(res.statusCode, 201)
      t.same(Object.keys(res.json()).sort(), ['alg', 'kid'])
      t.equal(res.json().alg, 'EdDSA')
      const newKid = res.json().kid
      t.not(newKid, oldKid)

      const after = await login(app)
      t.equal(kidOf(after.tokens.access_token), newKid, 'new tokens are signed by the new key')
      t.equal(await claimsStatus(app, before.tokens.access_token), 200, 'tokens of the old key still verify')
      t.equal(await claimsStatus(app, admin), 200)
      t.same(await jwksKids(app), [oldKid, newKid].sort(), 'the JWKS publishes both')

      const list = await app.inject({ url: '/v1/admin/keys', headers: bearer(admin) })
      t.equal(list.statusCode, 200)
      const items = list.json().items as Array<Record<string, unknown>>
      t.same(
        items.map((k) => [k.kid, k.status]),
        [
          [newKid, 'active'],
          [oldKid, 'retiring'],
        ],
        'newest first, with their status',
      )
      t.same(Object.keys(items[0]!).sort(), [
        'activated_at',
        'alg',
        'created_at',
        'kid',
        'retired_at',
        'retiring_at',
        'status',
      ])
      t.notMatch(list.body, /"d"|"k"|private/, 'no private material')
    },
  )

  await t.test(
    'a retiring key verifies until its tokens expire, then leaves the JWKS and is retired',
    async (t) => {
      const { app, clock } = await buildTestApp(t, ADMIN_ENV, dialect)
      const { tokens } = await login(app)
      const oldKid = kidOf(tokens.access_token)
      clock.advance(1_000)
      const newKid = (await rotate(app, await adminToken(app))).json().kid
      const retiringAt = clock()

      // The token was signed a second before the rotation, so it expires at retiringAt + TTL - 1 s.
      clock.set(retiringAt + TTL_MS - 2_000)
      await app.services.maintenance.run()
      t.equal(
        await claimsStatus(app, tokens.access_token),
        200,
        'a second before it expires, the token verifies',
      )
      t.same(await jwksKids(app), [oldKid, newKid].sort())

      clock.set(retiringAt + TTL_MS + RETIRE_GRACE_MS)
      await app.services.maintenance.run()
      t.same(await jwksKids(app), [oldKid, newKid].sort(), 'kept through the grace period')

      clock.advance(1)
      await app.services.maintenance.run()
      t.same(await jwksKids(app), [newKid], 'gone once every token it signed has expired')
      t.equal(await claimsStatus(app, tokens.access_token), 401)
      const rows = await app.services.database.db.selectFrom('signing_keys').selectAll().execute()
      const old = rows.find((r) => r.kid === oldKid)!
      t.equal(old.status, 'retired')
      t.equal(old.retired_at, clock())
      t.equal(rows.find((r) => r.kid === newKid)!.status, 'active')

      const list = await app.inject({ url: '/v1/admin/keys', headers: bearer(await adminToken(app)) })
      t.same(
        list.json().items.map((k: { status: string }) => k.status),
        ['active', 'retired'],
      )
    },
  )

  await t.test('a reload never loads a retired key', async (t) => {
    const { app, clock } = await buildTestApp(t, ADMIN_ENV, dialect)
    const oldKid = (await jwksKids(app))[0]!
    await rotate(app, await adminToken(app))
    clock.advance(TTL_MS + RETIRE_GRACE_MS + 1_000)
    await app.services.maintenance.run()
    // Even with the clock turned back, the retired row stays out of the key set.
    clock.advance(-(TTL_MS + RETIRE_GRACE_MS + 1_000))
    await app.services.keys.reload()
    t.equal(app.services.keys.get(oldKid), undefined)
    t.notOk((await jwksKids(app)).includes(oldKid))
  })

  await t.test(
    'the body may pick the algorithm of the new key; anything else is 400 invalid_request',
    async (t) => {
      const { app } = await buildTestApp(t, ADMIN_ENV, dialect)
      const admin = await adminToken(app)
      const es256 = await rotate(app, admin, { alg: 'ES256' })
      t.equal(es256.statusCode, 201)
      t.equal(es256.json().alg, 'ES256')
      const signed = await login(app)
      const header = JSON.parse(
        Buffer.from(signed.tokens.access_token.split('.')[0]!, 'base64url').toString(),
      )
      t.same(header, { alg: 'ES256', typ: 'at+jwt', kid: es256.json().kid })
      t.equal(await claimsStatus(app, signed.tokens.access_token), 200)

      const hs256 = await rotate(app, admin, { alg: 'HS256' })
      t.equal(hs256.statusCode, 201)
      t.notOk((await jwksKids(app)).includes(hs256.json().kid), 'HS256 keys are never published')

      for (const body of [{ alg: 'none' }, { alg: 'HS512' }, { alg: 'EdDSA', extra: true }]) {
        const res = await rotate(app, admin, body)
        t.equal(res.statusCode, 400, JSON.stringify(body))
        t.equal(res.json().error, 'invalid_request')
      }
    },
  )
})
