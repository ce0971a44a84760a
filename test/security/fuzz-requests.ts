import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import { PASSWORD } from '../helpers/flows.js'

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

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) })

const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  '\u202e',
  'é'.repeat(40),
  '😀'.repeat(8),
  'x'.repeat(1025),
  "' OR '1'='1",
  '__proto__',
  'constructor',
  '../../etc/passwd',
  'admin',
  'profile:read admin',
  'null',
  '%00',
  '\r\nX-Injected: 1',
)

/** Single characters that break naive code: NUL, lone surrogates, quotes, line breaks, bidi overrides. */
const oddChar = fc.oneof(
  { weight: 4, arbitrary: fc.constant('\u0000') },
  { weight: 2, arbitrary: fc.constantFrom('\ud800', '\udc00') },
  {
    weight: 6,
    arbitrary: fc.constantFrom('\n', '\r', '"', "'", '\\', '%', '\u202e', 'é', '😀', ' ', '+', '='),
  },
)

const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: nasty },
  { weight: 1, arbitrary: fc.string({ maxLength: 400 }) },
)

const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: text },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(text, { maxLength: 3 }) },
  {
    weight: 1,
    arbitrary: fc.dictionary(fc.constantFrom('scopes', 'admin', '$ne', 'toString'), text, { maxKeys: 2 }),
  },
)

const FIELDS = [
  'grant_type',
  'username',
  'password',
  'refresh_token',
  'scope',
  'client_id',
  'client_secret',
  'token',
  'token_type_hint',
  'email',
  'name',
  'scopes',
  'disabled',
  'id',
  '__proto__',
  'constructor',
  'prototype',
]
const fieldName = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...FIELDS) },
  { weight: 1, arbitrary: text },
)

type Entries = Array<[string, unknown]>

/** Entries rather than objects: repeated keys and a literal "__proto__" key survive. */
const entries = fc.array(fc.tuple(fieldName, jsonValue), { maxLength: 8 })

function toJson(list: Entries): string {
  return `{${list.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`
}

function toForm(list: Entries): string {
  const form = new URLSearchParams()
  for (const [k, v] of list) {
    if (Array.isArray(v)) for (const item of v) form.append(k, String(item))
    else form.append(k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))
  }
  return form.toString()
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

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: jsonValue }),
  fc.record({ kind: fc.constant('add' as const), name: fieldName, value: jsonValue }),
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    char: fc.nat(),
    to: fc.oneof(printable, oddChar),
  }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), char: fc.nat(), to: oddChar }),
)

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never

function mutate(list: Entries, m: Mutation): Entries {
  const next = [...list]
  const i = 'at' in m && next.length > 0 ? m.at % next.length : 0
  switch (m.kind) {
    case 'drop':
      next.splice(i, 1)
      break
    case 'duplicate':
      if (next[i]) next.push(next[i]!)
      break
    case 'replace':
      if (next[i]) next[i] = [next[i]![0], m.value]
      break
    case 'add':
      next.push([m.name, m.value])
      break
    case 'flip': {
      const entry = next[i]
      if (entry && typeof entry[1] === 'string' && entry[1].length > 0) {
        const s = entry[1]
        const at = m.char % s.length
        next[i] = [entry[0], s.slice(0, at) + m.to + s.slice(at + 1)]
      }
    }
  }
  return next
}

/** A token with one character replaced, cut short, or a segment swapped: mostly still b64token-shaped. */
function mutateToken(token: string, at: number, to: string, how: number): string {
  const i = token.length ? at % token.length : 0
  switch (how % 4) {
    case 0:
      return token.slice(0, i) + to + token.slice(i + 1)
    case 1:
      return token.slice(0, i)
    case 2: {
      const [h, p, s] = token.split('.')
      return [p, h, s].join('.')
    }
    default:
      return `${token}${to}`
  }
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
      query: fc.option(
        fc.dictionary(fc.constantFrom('access_token', 'except', 'x'), printable, { maxKeys: 2 }),
      ),
    })
    .map(({ anyRoute, body, encoding, raw, contentType, authorization, query }) => {
      const route: Route = body.route ?? anyRoute
      const method = route[0]
      const url: string = route[1]
      const options: InjectOptions = {
        method,
        url: query ? `${url}?${new URLSearchParams(query as Record<string, string>)}` : url,
        headers: {},
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
