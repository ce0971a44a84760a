import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'

// Assertions shared by the attack suite (test/security). Every hostile token goes to
// both protected routes: /v1/me (needs a scope and the database) and /v1/me/claims
// (any valid token, no database).

export const PROTECTED_ROUTES = ['/v1/me', '/v1/me/claims'] as const

const HANG_MS = 3_000

/** app.inject, failing instead of hanging (a prototype-member key lookup can hang a request). */
export async function injectWithin(app: FastifyInstance, options: InjectOptions) {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HANG_MS} ms`)), HANG_MS)
  })
  try {
    return await Promise.race([app.inject(options), hang])
  } finally {
    clearTimeout(timer)
  }
}

/** The body is exactly {error, error_description}, and no library or framework internals leak. */
export function assertErrorShape(t: Test, res: LightMyRequestResponse, error: string, label = '') {
  t.match(res.headers['content-type'], /^application\/json/, `${label} JSON error`)
  const body = res.json() as Record<string, unknown>
  t.same(Object.keys(body).sort(), ['error', 'error_description'], `${label} error shape`)
  t.equal(body.error, error, `${label} error code`)
  t.type(body.error_description, 'string', `${label} error_description`)
  const everything = `${res.body} ${JSON.stringify(res.headers)}`
  t.notMatch(everything, /FAST_JWT|FST_|TokenError|at \S+ \(/, `${label} no library errors or stack traces`)
}

/** RFC 6750 §3.1: 401 invalid_token with its challenge, on every protected route. */
export async function expectInvalidToken(t: Test, app: FastifyInstance, token: string, label = 'token') {
  for (const url of PROTECTED_ROUTES) {
    const res = await injectWithin(app, { url, headers: { authorization: `Bearer ${token}` } })
    t.equal(res.statusCode, 401, `${label} → ${url} is 401`)
    t.match(
      res.headers['www-authenticate'],
      /^Bearer realm="badge", error="invalid_token", error_description="[\x20\x21\x23-\x5B\x5D-\x7E]+"$/,
      `${label} → ${url} challenge`,
    )
    assertErrorShape(t, res, 'invalid_token', `${label} → ${url}`)
  }
}

/** The control: a token the attack starts from is accepted, so its rejections mean something. */
export async function expectAccepted(t: Test, app: FastifyInstance, token: string, label = 'token') {
  const res = await injectWithin(app, { url: '/v1/me/claims', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 200, `${label} is accepted (control)`)
  return res
}

/** `options` is refused with `status` and `error`, in the error shape. */
export async function expectError(
  t: Test,
  app: FastifyInstance,
  label: string,
  options: InjectOptions,
  status: number,
  error: string,
) {
  const res = await injectWithin(app, options)
  t.equal(res.statusCode, status, `${label}: ${status}`)
  assertErrorShape(t, res, error, label)
  return res
}
