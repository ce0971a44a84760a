import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pinSelf, startServer } from './lib/child.js'
import { load } from './lib/load.js'
import { badgeEnv, settings } from './lib/settings.js'

// npm run bench:profile -- <path> [seconds] [dir]: a V8 CPU profile (--cpu-prof) of the
// bench Badge server (ES256, logging silent) while autocannon loads GET <path> (with a
// bearer token, so protected routes answer 200). The profile lands in [dir]
// (default: a temporary directory); open it in Chrome DevTools or speedscope.

const [path = '/health/live', seconds = '8', dir = mkdtempSync(join(tmpdir(), 'badge-profile-'))] =
  process.argv.slice(2)
pinSelf()
const s = settings(true)
process.env.BENCH_PROFILE = dir
const server = await startServer(
  'badge',
  'bench/servers/badge.ts',
  badgeEnv(s, 'profile', { SIGNING_ALG: 'ES256' }),
  1,
)
try {
  const [token] = await server.call<string[]>('tokens', { count: 1 })
  const result = await load({
    url: `${server.url}${path}`,
    seconds: Number(seconds),
    connections: 10,
    headers: { authorization: `Bearer ${token}` },
  })
  process.stderr.write(`${path}: ${Math.round(result.rps)} req/s, ${result.non2xx} not 2xx\n`)
} finally {
  await server.stop()
  rmSync(s.dir, { recursive: true, force: true })
}
process.stderr.write(
  `profile: ${join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) ?? '?')}\n`,
)
