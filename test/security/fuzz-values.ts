import fc from 'fast-check'

// Values for the property-based test (fuzz.test.ts): strings that break naive code,
// JSON of every type, bodies as key/value entries, and mutations of valid requests.

export const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
})

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
  'cookie',
  'null',
  '%00',
  '\r\nX-Injected: 1',
)

/** Single characters that break naive code: NUL, lone surrogates, quotes, line breaks, bidi overrides. */
export const oddChar = fc.oneof(
  { weight: 4, arbitrary: fc.constant('\u0000') },
  { weight: 2, arbitrary: fc.constantFrom('\ud800', '\udc00') },
  {
    weight: 6,
    arbitrary: fc.constantFrom('\n', '\r', '"', "'", '\\', '%', '\u202e', 'é', '😀', ' ', '+', '='),
  },
)

export const text = fc.oneof(
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
  'refresh_token_delivery',
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

export type Entries = Array<[string, unknown]>

/** Entries rather than objects: repeated keys and a literal "__proto__" key survive. */
export const entries = fc.array(fc.tuple(fieldName, jsonValue), { maxLength: 8 })

export function toJson(list: Entries): string {
  return `{${list.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`
}

export function toForm(list: Entries): string {
  const form = new URLSearchParams()
  for (const [k, v] of list) {
    if (Array.isArray(v)) for (const item of v) form.append(k, String(item))
    else form.append(k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))
  }
  return form.toString()
}

export const mutation = fc.oneof(
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

export function mutate(list: Entries, m: Mutation): Entries {
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
export function mutateToken(token: string, at: number, to: string, how: number): string {
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
