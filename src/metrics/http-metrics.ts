// badge_http_requests_total and badge_http_request_duration_seconds (docs/operations.md).
// They are recorded on every request, the protected ones included, so recording is plain
// arithmetic on numbers held per route: each route gets its own recorder when it is
// registered (plugins/metrics.ts), which keeps one slot per (method, status) it answered.
// No label object is hashed and nothing is allocated per request once a status was seen;
// prom-client reads the slots only when /metrics is scraped, through get() below.

/** Seconds; a token check answers in microseconds, a bcrypt login in tens of milliseconds. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

interface Slot {
  labels: { route: string; method: string; status: string }
  count: number
  sum: number
  /** Per bucket, not cumulative; summed at scrape. The last one is +Inf. */
  buckets: Float64Array
}

/** A metric prom-client's registry formats from get(), whose values are read at scrape time. */
export interface CustomMetric {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
  get(): CustomMetricValues | Promise<CustomMetricValues>
}

interface CustomMetricValues {
  name: string
  help: string
  type: string
  aggregator: 'sum'
  values: { metricName?: string; labels: Record<string, string | number>; value: number }[]
}

/** Records one answered request: its status and how long it took, in milliseconds. */
export type RecordRequest = (statusCode: number, elapsedMs: number) => void

export function createHttpMetrics() {
  const slots: Slot[] = []

  /** A recorder for one route pattern (never a raw URL) and method. */
  function route(pattern: string, method: string): RecordRequest {
    const byStatus = new Map<number, Slot>()
    return (statusCode, elapsedMs) => {
      let slot = byStatus.get(statusCode)
      if (slot === undefined) {
        slot = {
          labels: { route: pattern, method, status: String(statusCode) },
          count: 0,
          sum: 0,
          buckets: new Float64Array(DURATION_BUCKETS.length + 1),
        }
        byStatus.set(statusCode, slot)
        slots.push(slot)
      }
      const seconds = elapsedMs / 1000
      slot.count++
      slot.sum += seconds
      let i = 0
      while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++
      slot.buckets[i]!++
    }
  }

  const requests: CustomMetric = {
    name: 'badge_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status.',
    type: 'counter',
    get: () => ({
      name: 'badge_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status.',
      type: 'counter',
      aggregator: 'sum',
      values: slots.map((s) => ({ labels: s.labels, value: s.count })),
    }),
  }

  const duration: CustomMetric = {
    name: 'badge_http_request_duration_seconds',
    help: 'Time from request to response, by route pattern, method and status.',
    type: 'histogram',
    get: () => ({
      name: 'badge_http_request_duration_seconds',
      help: 'Time from request to response, by route pattern, method and status.',
      type: 'histogram',
      aggregator: 'sum',
      values: slots.flatMap((s) => {
        let cumulative = 0
        const buckets = DURATION_BUCKETS.map((le, i) => {
          cumulative += s.buckets[i]!
          return {
            metricName: 'badge_http_request_duration_seconds_bucket',
            labels: { ...s.labels, le },
            value: cumulative,
          }
        })
        return [
          ...buckets,
          {
            metricName: 'badge_http_request_duration_seconds_bucket',
            labels: { ...s.labels, le: '+Inf' },
            value: s.count,
          },
          { metricName: 'badge_http_request_duration_seconds_sum', labels: s.labels, value: s.sum },
          { metricName: 'badge_http_request_duration_seconds_count', labels: s.labels, value: s.count },
        ]
      }),
    }),
  }

  return { route, collectors: [requests, duration] }
}

export type HttpMetrics = ReturnType<typeof createHttpMetrics>
