import Fastify from 'fastify'
import { serveCommands, statsSampler } from '../lib/child.js'

// The floor for Badge's fixed per-request cost: Fastify 5 with no plugins, no hooks, no
// schema and no logger, answering the same body as Badge's GET /health/live.

const stats = statsSampler()
const app = Fastify({ logger: false })
app.get('/health/live', async () => ({ status: 'ok' }))
await app.listen({ port: 0, host: '127.0.0.1' })
const address = app.server.address()
serveCommands(typeof address === 'object' && address ? address.port : 0, { stats: () => stats.take() })
