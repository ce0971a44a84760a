import type { Test } from 'tap'
import type { Env } from '../../src/config.js'
import { buildTestApp, type TestApp } from './app.js'
import type { TestDialect } from './databases.js'

// A test app listening on a real port, for races that must run over real HTTP with real
// concurrency (several requests in flight in one process, each at the real bcrypt cost).

export interface HttpAnswer {
  status: number
  body: Record<string, unknown>
}

export interface HttpTestApp extends TestApp {
  base: string
  post(path: string, body: Record<string, string>, headers?: Record<string, string>): Promise<HttpAnswer>
  call(method: string, path: string, token: string, body?: unknown): Promise<HttpAnswer>
}

export async function buildHttpTestApp(t: Test, env: Env, dialect: TestDialect): Promise<HttpTestApp> {
  const built = await buildTestApp(t, env, dialect)
  await built.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = built.app.server.address() as { port: number }
  const base = `http://127.0.0.1:${port}`
  const answer = async (res: Response): Promise<HttpAnswer> => {
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : {} }
  }
  return {
    ...built,
    base,
    post: (path, body, headers = {}) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(body).toString(),
      }).then(answer),
    call: (method, path, token, body) =>
      fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(answer),
  }
}
