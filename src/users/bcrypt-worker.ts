import { setPriority } from 'node:os'
import { parentPort } from 'node:worker_threads'
import bcrypt from 'bcrypt'

// One bcrypt thread of users/bcrypt-pool.ts. It lowers its own scheduling priority first
// (on Linux a thread's nice value is its own), so that when logins keep every core busy
// the event loop still gets a core the moment a request arrives (docs/performance.md:
// "bcrypt off the event loop's way"). A failure to lower it (a platform without
// per-thread priorities, a sandbox) leaves it at normal priority, as libuv's pool was.
export const BCRYPT_THREAD_NICE = 10

try {
  setPriority(0, BCRYPT_THREAD_NICE)
} catch {
  // Normal priority: correct, only less kind to the event loop.
}

export type BcryptJob =
  | { id: number; op: 'hash'; data: string; cost: number }
  | { id: number; op: 'compare'; data: string; hash: string }
export type BcryptResult = { id: number; value: string | boolean } | { id: number; error: string }

parentPort?.on('message', (job: BcryptJob) => {
  try {
    const value =
      job.op === 'hash' ? bcrypt.hashSync(job.data, job.cost) : bcrypt.compareSync(job.data, job.hash)
    parentPort!.postMessage({ id: job.id, value } satisfies BcryptResult)
  } catch (error) {
    parentPort!.postMessage({
      id: job.id,
      error: error instanceof Error ? error.message : String(error),
    } satisfies BcryptResult)
  }
})
