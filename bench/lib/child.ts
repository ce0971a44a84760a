import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'

// Servers under load run in their own processes, so the load generator (this
// process) and the server never share an event loop. With two or more cores and
// `taskset` available, the server is pinned to one core and the load to another.

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** Every core of the machine, read before this process pins itself to one. */
export const CORES = cpus().length

export const canPin = (() => {
  try {
    return spawnSync('taskset', ['-V']).status === 0
  } catch {
    return false
  }
})()

/** Pins every thread of this process (the load generator) to CPU 0. */
export function pinSelf(): boolean {
  if (!canPin) return false
  return spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)]).status === 0
}

export interface ServerProcess {
  name: string
  port: number
  url: string
  pid: number
  call<T>(cmd: string, args?: Record<string, unknown>): Promise<T>
  /** Peak RSS and CPU time since the previous call. */
  stats(): Promise<ServerStats>
  stop(): Promise<void>
}

interface Reply {
  id: number
  result?: unknown
  error?: string
}

/**
 * Starts `script` (relative to the repository) with `env` added to this environment
 * and waits for its `{type: 'ready', port}` message. `cpu` pins it; undefined lets it
 * use every core (bcrypt needs them all).
 */
export async function startServer(
  name: string,
  script: string,
  env: Record<string, string>,
  cpu?: number,
): Promise<ServerProcess> {
  // BENCH_PROFILE=<dir> writes a V8 CPU profile of every server, for finding hot spots.
  const profile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
    : []
  const node = [process.execPath, ...profile, '--import', 'tsx', script]
  // An unpinned server still needs taskset: it would inherit this process's single CPU.
  const cpuList = cpu !== undefined ? String(cpu) : `0-${CORES - 1}`
  const [command, ...args] = canPin ? ['taskset', '-c', cpuList, ...node] : node
  const child: ChildProcess = spawn(command!, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  let nextId = 1
  const port = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`${name} exited with ${code} before it was ready`))
    child.once('exit', onExit)
    child.on('message', (message: { type?: string; port?: number } & Partial<Reply>) => {
      if (message.type === 'ready') {
        child.off('exit', onExit)
        resolve(message.port!)
        return
      }
      const waiter = pending.get(message.id!)
      if (!waiter) return
      pending.delete(message.id!)
      if (message.error) waiter.reject(new Error(`${name}: ${message.error}`))
      else waiter.resolve(message.result)
    })
  })
  const call = <T>(cmd: string, args: Record<string, unknown> = {}) => {
    const id = nextId++
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      child.send({ id, cmd, ...args })
    })
  }
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    call,
    stats: () => call<ServerStats>('stats'),
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

// biome-ignore lint/suspicious/noExplicitAny: each command reads its own fields of an untyped IPC message
type Command = (args: any) => unknown

/** The server side of the protocol: answers the parent's commands and reports readiness. */
export function serveCommands(port: number, commands: Record<string, Command>): void {
  process.on('message', async (message: { id: number; cmd: string }) => {
    const handler = commands[message.cmd]
    try {
      if (!handler) throw new Error(`unknown command ${message.cmd}`)
      process.send!({ id: message.id, result: await handler(message) })
    } catch (error) {
      process.send!({
        id: message.id,
        error: [(error as Error).message, (error as { error_description?: string }).error_description]
          .filter(Boolean)
          .join(': '),
      })
    }
  })
  process.on('SIGTERM', () => process.exit(0))
  process.on('disconnect', () => process.exit(0))
  process.send!({ type: 'ready', port })
}

export interface ServerStats {
  /** Peak resident set size since the last take, bytes (sampled every 50 ms). */
  peakRss: number
  /** CPU time this process used since the last take, microseconds (user + system). */
  cpuMicros: number
}

/**
 * Peak RSS and CPU time between two `take()`s. CPU time per request is the figure that
 * survives a busy machine: wall-clock rates fall when other work steals the core,
 * CPU time per request barely moves.
 */
export function statsSampler() {
  let peak = process.memoryUsage.rss()
  let cpu = process.cpuUsage()
  setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss())
  }, 50).unref()
  return {
    take(): ServerStats {
      const used = process.cpuUsage(cpu)
      cpu = process.cpuUsage()
      const current = process.memoryUsage.rss()
      const result = { peakRss: Math.max(peak, current), cpuMicros: used.user + used.system }
      peak = current
      return result
    },
  }
}
