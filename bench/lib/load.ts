import { Agent, request } from 'node:http'
import autocannon from 'autocannon'
import { percentile } from './stats.js'

// Closed-loop throughput with autocannon, and an open-loop latency probe at a fixed
// rate (autocannon's histogram has millisecond resolution; p99 needs better).

export interface LoadResult {
  /** 2xx responses per second. */
  rps: number
  /** 2xx responses in all. */
  count: number
  non2xx: number
  errors: number
  p50: number
  p99: number
}

export interface LoadOptions {
  url: string
  seconds: number
  connections?: number
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** Per-request setup (rotating tokens, chained refresh tokens); context is per connection. */
  requests?: autocannon.Request[]
  amount?: number
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections ?? 10,
    pipelining: 1,
    duration: options.seconds,
    amount: options.amount,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    requests: options.requests,
  })
  const ok = result['2xx']
  return {
    rps: ok / Math.max(result.duration, 0.001),
    count: ok,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
  }
}

export interface ProbeResult {
  samples: number
  failures: number
  /** Milliseconds. */
  p50: number
  p99: number
}

/**
 * Sends GET `url` at `rate` requests per second for `seconds`, each timed with
 * hrtime from the moment it was due, so a stalled server shows up as latency.
 */
export async function probeLatency(
  url: string,
  headers: Record<string, string>,
  rate: number,
  seconds: number,
): Promise<ProbeResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 })
  const latencies: number[] = []
  let failures = 0
  const total = Math.round(rate * seconds)
  const interval = 1000 / rate
  const start = performance.now()
  const inFlight: Promise<void>[] = []
  for (let i = 0; i < total; i++) {
    const due = start + i * interval
    const wait = due - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    inFlight.push(
      new Promise<void>((resolve) => {
        const req = request(url, { agent, headers }, (res) => {
          res.resume()
          res.on('end', () => {
            if (res.statusCode === 200) latencies.push(performance.now() - due)
            else failures++
            resolve()
          })
        })
        req.on('error', () => {
          failures++
          resolve()
        })
        req.end()
      }),
    )
  }
  await Promise.all(inFlight)
  agent.destroy()
  return {
    samples: latencies.length,
    failures,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  }
}
