import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'

// GET /metrics on its own listener (METRICS_PORT, METRICS_HOST; docs/operations.md): the
// series describe traffic and capacity, so they are not served on the public API port,
// and a scrape never competes with the API's rate limits or shows up in its metrics.
// server.ts decides whether and where it listens.

export function createMetricsListener(registry: Registry): Server {
  return createServer((request, response) => {
    const path = request.url?.split('?')[0]
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n')
      return
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
      response.end('Method not allowed\n')
      return
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' })
        response.end(request.method === 'HEAD' ? undefined : text)
      },
      () => {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Metrics failed\n')
      },
    )
  })
}
