import { existsSync } from 'node:fs'
import { buildApp } from '../../src/app.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { startDemoServer } from './serve.js'

// `npm run demo`: Badge on http://localhost:3000 and the demo SPA on its own origin,
// http://localhost:5173, listed in CORS_ORIGINS so the app may use the refresh cookie.
// Both are "localhost", so they are the same site and COOKIE_SAMESITE=Strict works;
// localhost is a secure context, so the Secure cookie works over plain HTTP.
// Passkeys work as well: the default WEBAUTHN_RP_ID (localhost) covers both origins, and
// WebAuthn, too, accepts localhost over plain HTTP (no authenticator at hand? Chrome's
// DevTools → More tools → WebAuthn adds a virtual one). The demo asks for a TOTP code or a
// passkey when an account has a second factor.

if (existsSync('.env')) process.loadEnvFile('.env')
const env = process.env
const demoPort = Number(env.DEMO_PORT ?? 5173)
const demoOrigin = `http://localhost:${demoPort}`

let config: ReturnType<typeof loadConfig>
try {
  config = loadConfig({
    ...env,
    ISSUER: env.ISSUER ?? `http://localhost:${env.PORT ?? 3000}`,
    CORS_ORIGINS: [env.CORS_ORIGINS, demoOrigin].filter(Boolean).join(','),
  })
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`${error.message}\n`)
  process.exit(1)
}

const badge = await buildApp(config)
await badge.listen({ port: config.port, host: config.host })
const demo = await startDemoServer({ port: demoPort, host: config.host, badgeUrl: () => config.issuer })
process.stdout.write(`\nBadge demo: open ${demo.url}  (Badge at ${config.issuer})\n\n`)

async function stop() {
  await demo.close()
  await badge.close()
  process.exit(0)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())
