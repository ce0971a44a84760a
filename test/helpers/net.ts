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
 * server, a crashed host). blackhole: open connections freeze and new ones are
 * accepted but never answered (a silent network partition: no RST, no reply).
 */
export type ProxyMode = 'forward' | 'reset' | 'blackhole'

export interface TcpProxy {
  port: number
  /**
   * Switches mode. Entering 'reset' resets every connection; entering 'blackhole'
   * freezes them for good (they stay silent after 'forward' returns).
   */
  set(mode: ProxyMode): void
  close(): Promise<void>
}

/** A TCP proxy in front of host:port that a test can cut and restore, to simulate an outage. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: ProxyMode = 'forward'
  const pairs = new Set<[Socket, Socket]>()
  const held = new Set<Socket>()
  const freeze = ([client, upstream]: [Socket, Socket]) => {
    client.unpipe(upstream)
    upstream.unpipe(client)
    client.pause()
    upstream.pause()
  }
  const server: Server = createServer((client) => {
    client.on('error', () => {})
    if (mode === 'reset') return void client.resetAndDestroy()
    if (mode === 'blackhole') {
      held.add(client)
      client.on('close', () => held.delete(client))
      return
    }
    const upstream = connect(target.port, target.host)
    upstream.on('error', () => {})
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    client.pipe(upstream)
    upstream.pipe(client)
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end)
    upstream.on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    port,
    set(next) {
      if (next === mode) return
      if (next === 'reset') {
        for (const [client, upstream] of pairs) {
          client.resetAndDestroy()
          upstream.destroy()
        }
      }
      if (next === 'blackhole') for (const pair of pairs) freeze(pair)
      // Flows frozen by a blackhole stay dead after it ends, as when a firewall or NAT
      // forgot them: only new connections get through.
      if (mode === 'blackhole') for (const socket of held) socket.resetAndDestroy()
      mode = next
    },
    async close() {
      for (const [client, upstream] of pairs) {
        client.destroy()
        upstream.destroy()
      }
      for (const socket of held) socket.destroy()
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
