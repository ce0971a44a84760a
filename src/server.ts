import { existsSync } from 'node:fs'
import { buildApp } from './app.js'
import { type Config, ConfigError, loadConfig } from './config.js'
import { KeyDecryptionError } from './keys/encryption.js'
import { createMetricsListener } from './metrics/listener.js'

// The only module that touches the process: environment, listening, signals.

if (existsSync('.env')) process.loadEnvFile('.env')

let config: Readonly<Config>
try {
  config = loadConfig(process.env)
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`)
    process.exit(1)
  }
  throw error
}

let app: Awaited<ReturnType<typeof buildApp>>
try {
  app = await buildApp(config)
} catch (error) {
  const message =
    error instanceof KeyDecryptionError ? error.message : `Badge could not start: ${(error as Error).message}`
  process.stderr.write(`${message}\n`)
  process.exit(1)
}

// GET /metrics on its own listener (docs/operations.md), closed with the app.
if (config.metrics && app.metrics) {
  const { port, host } = config.metrics
  const listener = createMetricsListener(app.metrics.registry)
  app.addHook('onClose', async () => {
    // A scrape is a read Prometheus repeats: one cut short costs nothing, a wait could.
    const closed = new Promise((resolve) => listener.close(resolve))
    listener.closeAllConnections()
    await closed
  })
  try {
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject)
      listener.listen(port, host, resolve)
    })
  } catch (error) {
    app.log.fatal({ err: error }, 'could not listen for metrics')
    process.exit(1)
  }
  app.log.info({ port, host }, 'metrics listening')
}

// Graceful shutdown (docs/operations.md). Readiness answers 503 at once, so load balancers
// stop routing here; the listener keeps serving for SHUTDOWN_DELAY_SECONDS while they notice,
// then closes: requests in flight, and any already sent on an open connection, finish and
// are answered with Connection: close. app.close() then stops the background work
// (maintenance timer, after its running pass) and closes Redis and the database. It all
// fits in SHUTDOWN_GRACE_SECONDS: when the grace runs out, the connections still open are
// dropped so the close completes, and the process exits 0 either way; only a close that
// fails, or still hangs 5 s after that (a stuck database call), ends in exit 1.
const { graceSeconds, delaySeconds } = config.shutdown
let closing = false
async function shutdown(signal: string) {
  if (closing) return
  closing = true
  app.drain()
  app.log.info({ signal, graceSeconds, delaySeconds }, 'shutting down: readiness is 503')
  const graceOver = setTimeout(() => {
    app.log.warn('shutdown grace is over: dropping the connections still open')
    app.server.closeAllConnections()
    setTimeout(() => process.exit(1), 5_000).unref()
  }, graceSeconds * 1000).unref()
  if (delaySeconds > 0) await new Promise((resolve) => setTimeout(resolve, delaySeconds * 1000))
  let code = 0
  try {
    await app.close()
    app.log.info('shut down cleanly')
  } catch (error) {
    app.log.error({ err: error }, 'shutdown: closing failed')
    code = 1
  } finally {
    clearTimeout(graceOver)
    process.exit(code)
  }
}
process.on('SIGINT', () => void shutdown('SIGINT'))
process.on('SIGTERM', () => void shutdown('SIGTERM'))

try {
  await app.listen({ port: config.port, host: config.host })
} catch (error) {
  app.log.fatal({ err: error }, 'could not listen')
  process.exit(1)
}
