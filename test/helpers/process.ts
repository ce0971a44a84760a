import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// Badge's entry points run as real child processes, from source through tsx, in an
// empty working directory (so no developer .env leaks in) with only the environment given.

const TSX = import.meta.resolve('tsx')
export const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))
export const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

export interface ProcessResult {
  code: number | null
  stdout: string
  stderr: string
}

/** A temporary working directory, removed when the test ends. */
export function tempDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'badge-proc-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export function runScript(
  script: string,
  args: string[],
  options: { env: Record<string, string>; cwd: string; input?: string; timeoutMs?: number },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, script, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    // A process that should have exited but did not is a failure, not a hung test run.
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(options.input ?? '')
  })
}
