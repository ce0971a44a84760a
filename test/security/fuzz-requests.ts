import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import { PASSWORD } from '../helpers/flows.js'
import {
  type Entries,
  entries,
  mutate,
  mutateToken,
  mutation,
  oddChar,
  printable,
  text,
  toForm,
  toJson,
} from './fuzz-values.js'

// Generators for the property-based test (fuzz.test.ts): random and mutated requests
// to the token endpoint, signup and protected routes. Mutations start from requests
// that would succeed, so the fuzzer reaches the code past validation too.

/** What the fuzzer knows about the world: real users and tokens, refreshed as it goes. */
export interface FuzzWorld {
  emails: string[]
  accessTokens: string[]
  refreshTokens: string[]
  /** A registered confidential client. */
  client: { id: string; secret: string }
}

type Route = (typeof ROUTES)[number]

const ROUTES = [
  ['POST', '/oauth/token'],
  ['POST', '/oauth/revoke'],
  ['POST', '/v1/users'],
  ['GET', '/v1/me'],
  ['GET', '/v1/me/claims'],
  ['PATCH', '/v1/me'],
  ['POST', '/oauth/introspect'],
] as const

/** Valid requests, each with the route it is valid for: the fuzzer's starting points. */
function validRequests(world: FuzzWorld, pick: number): Array<[Route, Entries]> {
  const email = world.emails[pick % world.emails.length]!
  const refresh = world.refreshTokens[pick % world.refreshTokens.length] ?? 'none'
  const access = world.accessTokens[pick % world.accessTokens.length] ?? 'none'
  const [token, revoke, users, , , patchMe, introspect] = ROUTES
  const { id, secret } = world.client
  return [
    [
      token,
      [
        ['grant_type', 'password'],
        ['username', email],
        ['password', PASSWORD],
      ],
    ],
    [
      token,
      [
        ['grant_type', 'password'],
        ['username', email],
        ['password', PASSWORD],
        ['refresh_token_delivery', 'cookie'],
      ],
    ],
    [
      token,
      [
        ['grant_type', 'refresh_token'],
        ['refresh_token_delivery', 'cookie'],
      ],
    ],
    [
      token,
      [
        ['grant_type', 'password'],
        ['username', email],
        ['password', PASSWORD],
        ['scope', 'profile:read'],
      ],
    ],
    [
      token,
      [
        ['grant_type', 'refresh_token'],
        ['refresh_token', refresh],
      ],
    ],
    [revoke, [['token', refresh]]],
    [
      revoke,
      [
        ['token', access],
        ['token_type_hint', 'access_token'],
      ],
    ],
    [
      users,
      [
        ['email', `fuzz${pick}@example.com`],
        ['password', PASSWORD],
        ['name', 'Fuzz'],
      ],
    ],
    [patchMe, [['name', 'Fuzz']]],
    [
      token,
      [
        ['grant_type', 'client_credentials'],
        ['client_id', id],
        ['client_secret', secret],
      ],
    ],
    [
      introspect,
      [
        ['token', pick % 2 ? access : refresh],
        ['client_id', id],
        ['client_secret', secret],
      ],
    ],
  ]
}

const CONTENT_TYPES = [
  'application/json',
  'application/x-www-form-urlencoded',
  'application/json; charset=utf-8',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/xml',
]

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`

/** One random or mutated request. */
export function requestArbitrary(world: FuzzWorld): fc.Arbitrary<InjectOptions> {
  // A mutated valid request keeps its route; random entries go anywhere.
  const body: fc.Arbitrary<{ route: Route | undefined; entries: Entries }> = fc.oneof(
    { weight: 2, arbitrary: entries.map((list) => ({ route: undefined, entries: list })) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.nat(), fc.nat(), fc.array(mutation, { maxLength: 3 }))
        .map(([pick, which, ms]) => {
          const bases = validRequests(world, pick)
          const [route, list] = bases[which % bases.length]!
          return { route, entries: ms.reduce(mutate, list) }
        }),
    },
  )
  const token = (i: number) => world.accessTokens[i % world.accessTokens.length]!
  const authorization = fc.oneof(
    fc.constant(undefined),
    fc.nat().map((i) => `Bearer ${token(i)}`),
    fc
      .tuple(fc.nat(), fc.nat(), printable, fc.nat())
      .map(([i, at, to, how]) => `Bearer ${mutateToken(token(i), at, to, how)}`),
    printable,
    printable.map((s) => `Bearer ${s}`),
    // Client authentication: the real client, or ids and secrets no client can have.
    fc.constant(basic(world.client.id, world.client.secret)),
    fc.tuple(text, text).map(([id, secret]) => basic(id, secret)),
    fc.tuple(oddChar, text).map(([c, secret]) => basic(`${world.client.id}${c}`, secret)),
  )
  return fc
    .record({
      anyRoute: fc.constantFrom(...ROUTES),
      body,
      encoding: fc.constantFrom('json', 'json', 'form', 'raw'),
      raw: fc.string({ unit: 'binary', maxLength: 200 }),
      contentType: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
        { weight: 1, arbitrary: printable },
      ),
      authorization,
      // Browser mode (docs/contract.md §8): the refresh cookie and the CSRF headers, right or wrong.
      browser: fc.option(
        fc.record(
          {
            origin: fc.constantFrom('http://badge.test', 'http://badge.test', 'https://evil.example', 'null'),
            'x-badge-csrf': fc.constantFrom('1', '1', '0', ''),
            'sec-fetch-site': fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none'),
            cookie: fc.oneof(
              fc.nat().map((i) => `__Secure-badge_rt=${world.refreshTokens[i % world.refreshTokens.length]}`),
              printable.map((s) => `__Secure-badge_rt=${s}`),
            ),
          },
          { requiredKeys: ['origin', 'x-badge-csrf'] },
        ),
      ),
      query: fc.option(
        fc.dictionary(fc.constantFrom('access_token', 'except', 'x'), printable, { maxKeys: 2 }),
      ),
    })
    .map(({ anyRoute, body, encoding, raw, contentType, authorization, browser, query }) => {
      const route: Route = body.route ?? anyRoute
      const method = route[0]
      const url: string = route[1]
      const options: InjectOptions = {
        method,
        url: query ? `${url}?${new URLSearchParams(query as Record<string, string>)}` : url,
        headers: { ...browser },
      }
      if (authorization !== undefined) options.headers!.authorization = authorization
      if (method !== 'GET') {
        const json = encoding === 'json' || (encoding === 'form' && !url.startsWith('/oauth/'))
        options.headers!['content-type'] =
          encoding === 'raw' ? contentType : json ? 'application/json' : 'application/x-www-form-urlencoded'
        options.payload = encoding === 'raw' ? raw : json ? toJson(body.entries) : toForm(body.entries)
      }
      return options
    })
}
