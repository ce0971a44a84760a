import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createDatabase } from '../../src/db/index.js'
import { TEST_ENV } from '../helpers/app.js'
import { runScript, SERVER, tempDir } from '../helpers/process.js'

// The real server process (src/server.ts): a secret that cannot open the keys stops it
// with exit status 1 and one line saying what to fix, and writes nothing.

const SECRET = 'the secret the keys were sealed with'

t.test(
  'the server refuses to start, in one line, with a wrong or missing KEY_ENCRYPTION_SECRET',
  async (t) => {
    const dir = tempDir(t)
    const url = `sqlite:${join(dir, 'badge.db')}`
    const sealing = await buildApp(
      loadConfig({ ...TEST_ENV, DATABASE_URL: url, KEY_ENCRYPTION_SECRET: SECRET }),
    )
    const kid = sealing.services.keys.signingKey().kid
    await sealing.close()

    const database = createDatabase({ url })
    t.teardown(() => database.close())
    const rows = () => database.db.selectFrom('signing_keys').selectAll().execute()
    const before = await rows()

    const env = { DATABASE_URL: url, PORT: '0', LOG_LEVEL: 'info', BCRYPT_COST: '4' }
    const wrong = await runScript(SERVER, [], {
      cwd: dir,
      env: { ...env, KEY_ENCRYPTION_SECRET: 'x'.repeat(32) },
    })
    t.equal(wrong.code, 1)
    t.equal(
      wrong.stderr,
      `KEY_ENCRYPTION_SECRET does not decrypt signing key ${kid}: it is not the secret the keys were encrypted with\n`,
    )

    const missing = await runScript(SERVER, [], { cwd: dir, env })
    t.equal(missing.code, 1)
    t.equal(
      missing.stderr,
      'Signing keys in the database are encrypted: set KEY_ENCRYPTION_SECRET to the secret they were created with\n',
    )
    t.same(await rows(), before, 'no key was created, changed or re-sealed')
  },
)
