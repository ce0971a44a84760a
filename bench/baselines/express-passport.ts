import express, { type NextFunction, type Request, type Response } from 'express'
import passport from 'passport'
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt'
import { serveCommands, statsSampler } from '../lib/child.js'

// What many users would build instead of Badge's check: Express 5, passport-jwt over
// jsonwebtoken, and a scope middleware. Same routes and same token as the Badge
// bench server (ES256: jsonwebtoken has no EdDSA).

const stats = statsSampler()
const publicKey = process.env.BENCH_PUBLIC_KEY_PEM
const issuer = process.env.ISSUER
if (!publicKey || !issuer) throw new Error('BENCH_PUBLIC_KEY_PEM and ISSUER are required')

passport.use(
  new JwtStrategy(
    {
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: publicKey,
      issuer,
      audience: process.env.AUDIENCE ?? issuer,
      algorithms: ['ES256'],
    },
    (payload: Record<string, unknown>, done: (error: unknown, user?: unknown) => void) => done(null, payload),
  ),
)

const requireScope = (scope: string) => (req: Request, res: Response, next: NextFunction) => {
  const granted = String((req.user as { scope?: unknown } | undefined)?.scope ?? '').split(' ')
  if (granted.includes(scope)) return next()
  res.status(403).json({ error: 'insufficient_scope' })
}

const app = express()
app.disable('x-powered-by')
app.use(passport.initialize())
const body = { ok: true }
app.get('/bench/bare', (_req, res) => {
  res.json(body)
})
app.get(
  '/bench/protected',
  passport.authenticate('jwt', { session: false }),
  requireScope('profile:read'),
  (_req, res) => {
    res.json(body)
  },
)

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address()
  serveCommands(typeof address === 'object' && address ? address.port : 0, { stats: () => stats.take() })
})
