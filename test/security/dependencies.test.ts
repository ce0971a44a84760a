import { createRequire } from 'node:module'
import t from 'tap'

// The two libraries every request goes through must carry their security fixes:
// fastify ≥ 5.8.5 (content-type parsing bypasses fixed) and fast-jwt ≥ 6.3.6, the
// newest patch, with the 2026 algorithm-confusion fixes (public keys with leading
// bytes or as JWK JSON no longer usable as HMAC secrets). A downgrade in
// package-lock.json fails here before it ships.

const require = createRequire(import.meta.url)
const FLOORS: Record<string, string> = { fastify: '5.8.5', 'fast-jwt': '6.3.6' }

function atLeast(version: string, floor: string): boolean {
  const a = version.split(/[.+-]/).slice(0, 3).map(Number)
  const b = floor.split('.').map(Number)
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! > b[i]!
  return true
}

t.test('installed fastify and fast-jwt are at least the versions with the security fixes', async (t) => {
  for (const [name, floor] of Object.entries(FLOORS)) {
    const { version } = require(`${name}/package.json`) as { version: string }
    t.ok(atLeast(version, floor), `${name} ${version} ≥ ${floor}`)
  }
  const manifest = require('../../package.json') as { dependencies: Record<string, string> }
  for (const [name, floor] of Object.entries(FLOORS)) {
    const range = manifest.dependencies[name]!
    t.ok(atLeast(range.replace(/^[\^~]/, ''), floor), `package.json asks for ${name} ${range}`)
  }
})
