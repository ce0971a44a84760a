import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import { sql } from 'kysely'
import pg from 'pg'
import type { Db } from '../db/schema.js'
import type { RevocationBus } from './revocation-log.js'

// How one instance's revocations reach the others at once (docs/revocation.md). Either
// transport is best effort: a message lost while a connection is down is read by the
// catch-up poll, and every (re)connection starts with a catch-up read.

/** A bus both ways: publishing (inside the writing transaction) and receiving. */
export interface RevocationTransport extends RevocationBus {
  close(): Promise<void>
}

export interface TransportOptions {
  /** A message from another instance (or this one): entries as JSON, or "sync". */
  onMessage: (payload: string) => void
  /** Called whenever the subscription is (re)established: messages may have been missed. */
  onSubscribed: () => void
  log: FastifyBaseLogger
}

const RECONNECT_MS = 1000
/** The NOTIFY channel; notifications are per database, so instances of one database share it. */
export const POSTGRES_CHANNEL = 'badge_revocations'

/**
 * Publishing only, by NOTIFY in the writing transaction: what a process that does not
 * listen (the CLI) uses on PostgreSQL, so its revocations reach the instances at once.
 */
export function postgresNotify(channel = POSTGRES_CHANNEL): RevocationBus {
  return {
    async publish(trx: Db, payload: string) {
      await sql`select pg_notify(${channel}, ${payload})`.execute(trx)
    },
  }
}

/**
 * PostgreSQL LISTEN/NOTIFY. `pg_notify` runs in the writing transaction, so the message
 * leaves at commit and never announces a change that was rolled back. Listening holds one
 * connection of its own, outside the pool.
 */
export function postgresTransport(
  url: string,
  channel: string,
  options: TransportOptions,
): RevocationTransport {
  let client: pg.Client | undefined
  let closed = false
  let timer: NodeJS.Timeout | undefined

  const connect = async () => {
    const c = new pg.Client({ connectionString: url, keepAlive: true, fallback_application_name: 'badge' })
    client = c
    c.on('notification', (message) => {
      if (message.channel === channel && message.payload) options.onMessage(message.payload)
    })
    c.on('error', (err) => {
      options.log.warn({ err }, 'revocation listener lost its PostgreSQL connection: reconnecting')
      retry(c)
    })
    c.on('end', () => retry(c))
    try {
      await c.connect()
      await c.query(`LISTEN ${pgIdentifier(channel)}`)
      options.onSubscribed()
    } catch (err) {
      options.log.warn({ err }, 'revocation listener cannot reach PostgreSQL: retrying')
      retry(c)
    }
  }
  const retry = (c: pg.Client) => {
    if (closed || client !== c || timer) return
    client = undefined
    c.end().catch(() => {})
    timer = setTimeout(() => {
      timer = undefined
      if (!closed) void connect()
    }, RECONNECT_MS).unref()
  }
  void connect()

  return {
    publish: postgresNotify(channel).publish,
    async close() {
      closed = true
      if (timer) clearTimeout(timer)
      await client?.end().catch(() => {})
    },
  }
}

/**
 * Redis pub/sub (REDIS_URL). A publish cannot wait for the commit, so it carries the
 * entries themselves (applying one early is what the writing instance does too); it never
 * waits for Redis: a failed publish is left to the catch-up poll.
 */
export function redisTransport(
  publisher: Redis,
  channel: string,
  options: TransportOptions,
): RevocationTransport {
  // A subscribed connection can do nothing else: a connection of its own, queueing the
  // SUBSCRIBE until it is connected.
  const subscriber = publisher.duplicate({ enableOfflineQueue: true, lazyConnect: true })
  subscriber.on('error', () => {})
  subscriber.on('ready', () => {
    subscriber
      .subscribe(channel)
      .then(options.onSubscribed, (err) =>
        options.log.warn({ err }, 'revocation listener cannot subscribe on Redis'),
      )
  })
  subscriber.on('message', (from: string, payload: string) => {
    if (from === channel) options.onMessage(payload)
  })
  subscriber.connect().catch(() => {})
  return {
    async publish(_trx: Db, payload: string) {
      publisher.publish(channel, payload).catch(() => {})
    },
    async close() {
      subscriber.disconnect()
    },
  }
}

/** Channel names come from configuration: quoted as an identifier, never spliced raw. */
function pgIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}
