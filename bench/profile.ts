import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pinSelf, startServer } from './lib/child.js'
import { load } from './lib/load.js'
import { badgeEnv, settings } from './lib/settings.js'
import { chainedRefresh } from './scenarios/floor.js'

// npm run bench:profile -- <what> [seconds] [dir]: a V8 CPU profile (--cpu-prof) of the
// bench Badge server (ES256, LOG_LEVEL=silent, SQLite file) while autocannon loads it.
// <what> is a GET path (sent with a bearer token, so protected routes answer 200), or one
// of client_credentials, introspect, refresh. The profile lands in [dir] (default: a
// temporary directory); open it in Chrome DevTools or speedscope.

const [what = '/health/live', seconds = '8', dir = mkdtempSync(join(tmpdir(), 'badge-profile-'))] =
  process.argv.slice(2)
pinSelf()
const s = settings(true)
process.env.BENCH_PROFILE = dir
const env = badgeEnv(s, 'profile', {
  SIGNING_ALG: 'ES256',
  ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
})
const server = await startServer('badge', 'bench/servers/badge.ts', env, 1)
const EMAIL = 'profile@example.com'
const PASSWORD = 'correct horse battery staple'
try {
  const [token] = await server.call<string[]>('tokens', { count: 1 })
  const signup = await fetch(`${server.url}/v1/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  })
  if (signup.status !== 201) throw new Error(`signup failed: ${signup.status}`)
  const client = await server.call<{ clientId: string; clientSecret: string }>('client', {
    scopes: ['profile:read', 'profile:write'],
  })
  const basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`
  const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic }
  const login = async () => {
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', username: EMAIL, password: PASSWORD }),
    })
    return ((await res.json()) as { refresh_token: string }).refresh_token
  }
  const base = { url: server.url, seconds: Number(seconds), connections: 10 }
  const result =
    what === 'client_credentials'
      ? await load({
          ...base,
          url: `${server.url}/oauth/token`,
          method: 'POST',
          headers: form,
          body: 'grant_type=client_credentials',
        })
      : what === 'introspect'
        ? await load({
            ...base,
            url: `${server.url}/oauth/introspect`,
            method: 'POST',
            headers: form,
            body: `token=${token}`,
          })
        : what === 'refresh'
          ? await load({
              ...base,
              requests: chainedRefresh('/oauth/token', await Promise.all(Array.from({ length: 20 }, login))),
            })
          : await load({
              ...base,
              url: `${server.url}${what}`,
              headers: { authorization: `Bearer ${token}` },
            })
  process.stderr.write(`${what}: ${Math.round(result.rps)} req/s, ${result.non2xx} not 2xx\n`)
} finally {
  await server.stop()
  rmSync(s.dir, { recursive: true, force: true })
}
process.stderr.write(
  `profile: ${join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) ?? '?')}\n`,
)
