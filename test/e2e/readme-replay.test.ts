import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { freePort } from '../helpers/server.js'

// The README replays, top to bottom. Every shell block of README.md runs, in document
// order, in ONE bash shell (`set -euo pipefail`; variables set in one block are there in
// the next), against one fresh server, as a reader following the text would run them.
//
// How a block is run:
// - A block is a fenced code block tagged `sh`, `bash` or `shell`. Blocks in other
//   languages (`ts`, `js`, …) are not shell and are not run here (test/examples and
//   test/verify cover the code snippets).
// - A shell block that cannot run here (it needs your own PostgreSQL, installs packages,
//   runs the test suite, starts a second Badge on port 3000…) must say so on the line
//   right before its opening fence:
//       <!-- replay: skip, <why, for the reader of this file> -->
//   Nothing else is skipped: an unmarked shell block always runs, and the test reports
//   how many ran and which were skipped, with their reasons.
// - `http://localhost:3000` is rewritten to the server's free port; nothing else is.
// - `npm ci` does nothing (the checkout is installed). `npm start` stands for the server's
//   own terminal: it starts Badge (src/server.ts) in the background with the environment
//   below plus any `VAR=value` prefix on the line, and returns once /health/ready answers.
//   A server already running is stopped first, as the reader does with Ctrl-C; the block
//   must say so (a comment mentioning Ctrl-C or "stop" before that `npm start`).
//   `npm run …` (e.g. `npm run -s cli -- users list`) runs for real in the checkout. Any
//   other npm command fails the replay: mark its block as skipped.
// - The server's output (stdout and stderr, every start) is appended to `badge.log` in
//   the shell's working directory, a fresh temporary directory where files the README
//   creates (e.g. `password.txt`) also land. A block may read it (`grep … badge.log`) if
//   the README tells the reader to keep the log in that file.
//
// The replay fails on: a non-zero exit status (a failing command, an unset variable); any
// output on stderr; a variable assigned from a command substitution (`X=$(…)`) that is
// empty after its block (a login that failed would cascade into a misleading error
// later); a printed line starting with `{` or `[` that is not one JSON value (curl output
// running into the next line, because `-w '\n'` is missing); a JSON error body
// (`{"error": …}`) or a printed status code that is not 2xx. REPLAY_DEBUG=1 prints the
// replay's whole output (with `@@block N` markers) to stderr.

/** The server's whole environment for the replay: nothing else from the test run leaks in. */
function replayEnv(port: number, dir: string): Record<string, string> {
  return {
    PORT: String(port),
    // ISSUER is left unset on purpose: it must follow PORT (the README's comments show it).
    DATABASE_URL: `sqlite:${join(dir, 'data', 'badge.db')}`,
    // Only to keep the run fast; every other variable has its documented default.
    BCRYPT_COST: '4',
  }
}

// A few dozen curl calls and a dozen CLI processes: about a minute on a quiet machine,
// more while the rest of the suite runs beside it, so more than the suite's 120 s.
t.setTimeout(300_000)

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const SHELL = new Set(['sh', 'bash', 'shell'])

interface Block {
  line: number
  text: string
  skip?: string
}

/** Every fenced shell block, in document order, with its skip marker if it has one. */
function shellBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!)
    if (!open) continue
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l))
    if (end < 0) throw new Error(`README line ${i + 1}: unclosed code fence`)
    if (SHELL.has(open[1]!)) {
      const marker = /^<!-- replay: skip, (.+) -->$/.exec(lines[i - 1] ?? '')
      blocks.push({ line: i + 1, text: lines.slice(i + 1, end).join('\n'), skip: marker?.[1] })
    }
    i = end
  }
  return blocks
}

const PRELUDE = `
set -euo pipefail
__replay_pid=
__replay_stop() {
  if [ -n "$__replay_pid" ]; then kill "$__replay_pid" 2>/dev/null || true; wait "$__replay_pid" 2>/dev/null || true; fi
  __replay_pid=
}
trap __replay_stop EXIT
npm() {
  case "$1" in
    ci) ;;
    start)
      __replay_stop
      "$REPLAY_NODE" --import "$REPLAY_TSX" "$REPLAY_REPO/src/server.ts" >>badge.log 2>&1 &
      __replay_pid=$!
      for _ in $(seq 1 300); do
        if command curl -fs -o /dev/null "http://127.0.0.1:$PORT/health/ready"; then return 0; fi
        if ! kill -0 "$__replay_pid" 2>/dev/null; then echo "npm start: Badge exited; see badge.log:" >&2; cat badge.log >&2; return 1; fi
        sleep 0.1
      done
      echo "npm start: Badge did not become ready" >&2; return 1 ;;
    run) (cd "$REPLAY_REPO" && command npm "$@") ;;
    *) echo "npm $*: not replayable here; mark the README block with <!-- replay: skip, … -->" >&2; return 1 ;;
  esac
}
`

/** The bash script for the blocks: markers between blocks, and the emptiness checks. */
function script(blocks: Block[], port: number): string {
  const parts = [PRELUDE]
  let starts = 0
  blocks.forEach((block, index) => {
    if (block.skip) return
    const lines = block.text.split('\n')
    lines.forEach((line, i) => {
      if (!/^\s*([A-Za-z_]\w*=('[^']*'|"[^"]*"|\S+)\s+)*npm start\b/.test(line)) return
      if (starts++ > 0 && !/ctrl-c|stop/i.test(lines.slice(0, i).join('\n')))
        throw new Error(
          `README line ${block.line + i + 1}: restarts Badge without saying to stop the first server`,
        )
    })
    parts.push(`echo '@@block ${index}'`)
    parts.push(block.text.replaceAll('http://localhost:3000', `http://localhost:${port}`))
    const assigned = new Set(
      [...block.text.matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*)=\$\(/gm)].map((m) => m[1]!),
    )
    for (const name of assigned)
      parts.push(
        `: "\${${name}:?is empty after the README block at line ${block.line}: a command before it failed}"`,
      )
  })
  return parts.join('\n')
}

function run(source: string, env: Record<string, string>, cwd: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn('bash', ['-c', source], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    // The whole process group, the server included: a hung replay must not outlive the test.
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 240_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

t.test('every shell block of the README replays in order against a fresh server', async (t) => {
  const blocks = shellBlocks(README)
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'badge-readme-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    REPLAY_NODE: process.execPath,
    REPLAY_REPO: REPO,
    REPLAY_TSX: import.meta.resolve('tsx'),
    ...replayEnv(port, dir),
  }
  const result = await run(script(blocks, port), env, dir)

  if (process.env.REPLAY_DEBUG) console.error(result.stdout)
  const ran = blocks.filter((b) => !b.skip)
  const skipped = blocks.filter((b) => b.skip)
  t.comment(`ran ${ran.length} README shell blocks; skipped ${skipped.length}:`)
  for (const b of skipped) t.comment(`  line ${b.line}: ${b.skip}`)

  // Which block printed a line, for the failure messages.
  let current = -1
  const printed: Array<{ block: number; text: string }> = []
  for (const text of result.stdout.split('\n')) {
    const marker = /^@@block (\d+)$/.exec(text)
    if (marker) current = Number(marker[1])
    else if (text !== '') printed.push({ block: current, text })
  }
  const where = (block: number) => `README line ${blocks[block]?.line ?? '?'}`
  const lastBlock = printed.length ? where(printed.at(-1)!.block) : 'the start'

  t.equal(result.code, 0, `the replay exits 0 (last output from the block at ${lastBlock})`)
  t.equal(result.stderr, '', 'nothing on stderr')
  t.ok(ran.length >= 10, 'the README has its shell blocks')
  for (const { block, text } of printed) {
    if (/^[{[]/.test(text)) {
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        t.fail(`${where(block)} printed a line that is not one JSON value: ${text.slice(0, 200)}`)
        continue
      }
      if (value && typeof value === 'object' && 'error' in value)
        t.fail(`${where(block)} printed an error: ${text.slice(0, 200)}`)
    }
    if (/^\d{3}$/.test(text) && !text.startsWith('2')) t.fail(`${where(block)} printed status ${text}`)
  }
})
