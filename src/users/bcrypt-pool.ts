import { Worker } from 'node:worker_threads'
import type { BcryptJob, BcryptResult } from './bcrypt-worker.js'

// bcrypt on worker threads of lowered priority instead of libuv's threadpool (where the
// async bcrypt API runs it at the event loop's own priority): with every core busy
// hashing, a protected route's latency then stays near idle (docs/performance.md:
// "bcrypt off the event loop's way"). One pool per process, as libuv's pool was: bcrypt
// capacity is the machine's, however many apps share it. Threads start on first use and
// stay; an idle thread does not keep the process alive, a busy one does.

type Pending = { resolve: (value: string | boolean) => void; reject: (error: Error) => void }

interface Thread {
  worker: Worker
  busy: boolean
}

// Run from source (tsx) the worker is the .ts file beside this one; built, the .js.
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './bcrypt-worker.ts' : './bcrypt-worker.js',
  import.meta.url,
)

const threads: Thread[] = []
const queue: Array<{ job: Omit<BcryptJob, 'id'> } & Pending> = []
const pending = new Map<number, Pending & { thread: Thread }>()
let nextId = 0
let maxThreads = 1

function start(): Thread {
  const thread: Thread = { worker: new Worker(WORKER_URL), busy: false }
  thread.worker.unref()
  thread.worker.on('message', (result: BcryptResult) => {
    const job = pending.get(result.id)
    if (!job) return
    pending.delete(result.id)
    release(thread)
    if ('error' in result) job.reject(new Error(`bcrypt: ${result.error}`))
    else job.resolve(result.value)
  })
  // A thread that dies takes its job with it; the next job starts a new thread.
  thread.worker.on('error', (error) => retire(thread, error))
  thread.worker.on('exit', (code) => retire(thread, new Error(`bcrypt thread exited (${code})`)))
  threads.push(thread)
  return thread
}

function retire(thread: Thread, error: Error) {
  const index = threads.indexOf(thread)
  if (index < 0) return
  threads.splice(index, 1)
  for (const [id, job] of pending) {
    if (job.thread !== thread) continue
    pending.delete(id)
    job.reject(error)
  }
  drain()
}

function release(thread: Thread) {
  thread.busy = false
  thread.worker.unref()
  drain()
}

function drain() {
  while (queue.length > 0) {
    const thread = threads.find((t) => !t.busy) ?? (threads.length < maxThreads ? start() : undefined)
    if (!thread) return
    const { job, resolve, reject } = queue.shift()!
    const id = nextId++
    thread.busy = true
    thread.worker.ref()
    pending.set(id, { resolve, reject, thread })
    thread.worker.postMessage({ ...job, id } as BcryptJob)
  }
}

function run(job: Omit<BcryptJob, 'id'>): Promise<string | boolean> {
  return new Promise((resolve, reject) => {
    queue.push({ job, resolve, reject })
    drain()
  })
}

/** Lets the pool grow to `size` threads (the largest LOGIN_CONCURRENCY of any app in the process). */
export function reserveBcryptThreads(size: number): void {
  maxThreads = Math.max(maxThreads, size)
}

export async function bcryptHash(data: string, cost: number): Promise<string> {
  return (await run({ op: 'hash', data, cost } as Omit<BcryptJob, 'id'>)) as string
}

export async function bcryptCompare(data: string, hash: string): Promise<boolean> {
  return (await run({ op: 'compare', data, hash } as Omit<BcryptJob, 'id'>)) as boolean
}
