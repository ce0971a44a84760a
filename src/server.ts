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
    await new Promise((resolve) => listener.close(resolve))
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

let closing = false
async function shutdown(signal: string) {
  if (closing) return
  closing = true
  app.log.info({ signal }, 'shutting down')
  const force = setTimeout(() => process.exit(1), 10_000).unref()
  try {
    await app.close()
  } finally {
    clearTimeout(force)
    process.exit(0)
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
