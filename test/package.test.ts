import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// Badge installs as an npm package: the kit as `<name>/verify`, the operator CLI as the
// `badge` command. The name must be one Badge can publish under (`badge` belongs to an
// unrelated package), and the README's install story must use it.

const root = fileURLToPath(new URL('..', import.meta.url))
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

t.test('the package is published as badge-auth, and the README installs and imports that name', async (t) => {
  t.equal(pkg.name, 'badge-auth')
  t.match(readme, /npm install badge-auth\b/)
  t.match(readme, /from 'badge-auth\/verify'/)
  t.match(readme, /npx badge-auth\b/)
  t.notMatch(readme, /from 'badge\/verify'|npx badge </, 'no leftover of the name Badge cannot publish under')
  t.same(Object.keys(pkg.bin), ['badge'], 'one command, so `npx badge-auth` runs it')
})

t.test('the kit resolves by its package name to the built module', async (t) => {
  t.equal(fileURLToPath(import.meta.resolve('badge-auth/verify')), `${root}dist/verify/index.js`)
})

t.test('the packed package holds the built server, kit and CLI, and no tests or sources', async (t) => {
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], { cwd: root, encoding: 'utf8' }),
  )
  const paths: string[] = packed.files.map((f: { path: string }) => f.path)
  for (const path of [
    'dist/server.js',
    'dist/cli.js',
    'dist/verify/index.js',
    'package.json',
    'README.md',
    'LICENSE',
  ])
    t.ok(paths.includes(path), path)
  t.same(
    paths.filter((p) => /^(test|src|bench|examples|scripts|\.ci)\//.test(p)),
    [],
    'nothing but what runs',
  )
})
