import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { freePort } from './net.js'

// Real Badge processes for end-to-end tests: `node --import tsx src/server.ts` with a
// clean environment, on a free port, stopped (SIGTERM, then SIGKILL) when the test ends.

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface BadgeProcess {
  url: string
  child: ChildProcess
  /** Everything the process printed so far, for failure messages. */
  output(): string
}

export async function startBadge(t: Test, env: Record<string, string>): Promise<BadgeProcess> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      BCRYPT_COST: '4',
      LOG_LEVEL: 'warn',
      ...env,
      HOST: '127.0.0.1',
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk) => {
    output += chunk
  })
  child.stderr!.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  })

  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`Badge exited with ${child.exitCode}:\n${output}`)
    const live = await fetch(`${url}/health/live`).then(
      (r) => r.ok,
      () => false,
    )
    if (live) return { url, child, output: () => output }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`Badge did not become live in time:\n${output}`)
}

/**
 * examples/resource-server.ts as a real process (issue 16), on a free port, stopped when
 * the test ends; ready once it answers a request without a token with 401.
 */
export async function startResourceServer(t: Test, env: Record<string, string>): Promise<BadgeProcess> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/resource-server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...env,
      HOST: '127.0.0.1',
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk) => {
    output += chunk
  })
  child.stderr!.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
  t.teardown(stop)
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`resource server exited with ${child.exitCode}:\n${output}`)
    const up = await fetch(`${url}/notes`).then(
      (r) => r.status === 401,
      () => false,
    )
    if (up) return { url, child, output: () => output }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`resource server did not start in time:\n${output}`)
}
