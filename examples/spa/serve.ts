import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

// A tiny static server for the demo SPA, on an origin of its own (as a real app would
// be): the four files of the demo plus /config.json, which tells the app where Badge
// is. A strict Content-Security-Policy shows the other half of the defence: scripts
// from nowhere but this origin, connections to nowhere but Badge.

const FILES: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/badge-client.js': ['badge-client.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
}

export interface DemoServerOptions {
  /** Where the app finds Badge; read on every request, so it may be known only after start. */
  badgeUrl: () => string
  port?: number
  host?: string
  /** The host name in the URL the demo is reached by (default localhost). */
  publicHost?: string
}

export interface DemoServer {
  /** The demo's origin, e.g. http://localhost:5173 */
  url: string
  close(): Promise<void>
}

function securityHeaders(badgeUrl: string): Record<string, string> {
  const badge = new URL(badgeUrl).origin
  return {
    'content-security-policy': `default-src 'self'; connect-src 'self' ${badge}; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  }
}

export async function startDemoServer(options: DemoServerOptions): Promise<DemoServer> {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://demo').pathname
    const headers = securityHeaders(options.badgeUrl())
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { ...headers, allow: 'GET, HEAD' }).end()
      return
    }
    if (path === '/config.json') {
      response
        .writeHead(200, { ...headers, 'content-type': 'application/json' })
        .end(JSON.stringify({ badgeUrl: options.badgeUrl() }))
      return
    }
    const entry = FILES[path]
    if (!entry) {
      response.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end('not found')
      return
    }
    try {
      const body = await readFile(new URL(entry[0], import.meta.url))
      response.writeHead(200, { ...headers, 'content-type': entry[1] }).end(body)
    } catch {
      response.writeHead(500, headers).end()
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${options.publicHost ?? 'localhost'}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
