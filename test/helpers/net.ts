import { connect, createServer, type Server, type Socket } from 'node:net'

/** A TCP port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * forward: pass bytes both ways. reset: drop every connection at once (a stopped
 * server, a crashed host). blackhole: accept and never answer (a silent network).
 */
export type ProxyMode = 'forward' | 'reset' | 'blackhole'

export interface TcpProxy {
  port: number
  /** Switches mode; leaving 'forward' cuts every open connection. */
  set(mode: ProxyMode): void
  close(): Promise<void>
}

/** A TCP proxy in front of host:port that a test can cut and restore, to simulate an outage. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: ProxyMode = 'forward'
  const open = new Set<Socket>()
  const track = (socket: Socket) => {
    open.add(socket)
    socket.on('close', () => open.delete(socket))
    socket.on('error', () => {})
  }
  const server: Server = createServer((client) => {
    track(client)
    if (mode === 'reset') return void client.resetAndDestroy()
    if (mode === 'blackhole') return
    const upstream = connect(target.port, target.host)
    track(upstream)
    client.pipe(upstream).pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    port,
    set(next) {
      if (next !== 'forward') for (const socket of open) socket.resetAndDestroy()
      mode = next
    },
    async close() {
      for (const socket of open) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** The same URL with host and port replaced by the proxy's. */
export function viaProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url)
  parsed.hostname = '127.0.0.1'
  parsed.port = String(proxy.port)
  return parsed.toString()
}
