import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'

/** The OpenAPI document as YAML, generated from a throwaway in-memory app with default settings. */
export async function generateOpenApiYaml(): Promise<string> {
  const config = loadConfig({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent', BCRYPT_COST: '4' })
  const app = await buildApp(config)
  try {
    await app.ready()
    return app.swagger({ yaml: true })
  } finally {
    await app.close()
  }
}
