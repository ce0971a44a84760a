import type { FastifyInstance, onResponseHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import type { HttpMetrics } from '../metrics/http-metrics.js'

// Records every answered request into badge_http_requests_total and
// badge_http_request_duration_seconds (metrics/http-metrics.ts). Each route gets its own
// onResponse hook, bound when the route is registered to its pattern (/v1/admin/users/:id,
// never the URL asked for), so the hot path does no lookup by route; requests that match
// no route are counted under route="unmatched". Registered before every route (app.ts).

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

export interface MetricsPluginOptions {
  http: HttpMetrics
}

async function metrics(app: FastifyInstance, { http }: MetricsPluginOptions) {
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const recorders = new Map(methods.map((m) => [m, http.route(route.url, m)]))
    const only = methods.length === 1 ? recorders.get(methods[0]!)! : undefined
    const record: onResponseHookHandler = (request, reply, done) => {
      const recordRequest = only ?? recorders.get(request.method)
      recordRequest?.(reply.statusCode, reply.elapsedTime)
      done()
    }
    const existing = route.onResponse
    route.onResponse = existing === undefined ? [record] : [...[existing].flat(), record]
  })
  // Bounded labels for what matched no route: the method is one of a fixed set, or "other".
  const unmatched = new Map([...KNOWN_METHODS, 'other'].map((m) => [m, http.route('unmatched', m)]))
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404)
      unmatched.get(KNOWN_METHODS.has(request.method) ? request.method : 'other')!(
        reply.statusCode,
        reply.elapsedTime,
      )
    done()
  })
}

export const metricsPlugin = fp(metrics, { name: 'badge-metrics', fastify: '5.x' })
