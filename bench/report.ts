import type { ExpressResult } from './scenarios/express.js'
import type { FloorResult } from './scenarios/floor.js'
import type { LoginResult } from './scenarios/login.js'
import type { ProtectedResult } from './scenarios/protected.js'
import type { RefreshResult } from './scenarios/refresh.js'
import type { VerifyOpsResult } from './scenarios/verify-ops.js'

// One run's results and the targets they are judged against (bench/markdown.ts turns
// both into bench/RESULTS.md).

export interface Results {
  meta: {
    date: string
    mode: string
    node: string
    cpu: string
    cores: number
    memoryGb: number
    platform: string
    pinned: string
    loadAverage: { start: number[]; end: number[] }
    seconds: number
    note: string | undefined
    settings: object
  }
  floor?: FloorResult
  verify?: VerifyOpsResult
  protected?: ProtectedResult
  express?: ExpressResult
  login?: LoginResult
  refresh?: { sqlite: RefreshResult; postgres: RefreshResult | undefined }
  targets?: Target[]
}

export interface Target {
  id: string
  label: string
  value: number
  target: number
  /** Higher is better, or lower is better. */
  better: 'higher' | 'lower'
  met: boolean
  display: string
  targetDisplay: string
}

export const x = (n: number) => `${n.toFixed(2)}×`
export const int = (n: number) => Math.round(n).toLocaleString('en-US')

function target(
  id: string,
  label: string,
  value: number,
  goal: number,
  better: 'higher' | 'lower',
  unit = '×',
): Target {
  const met = better === 'higher' ? value >= goal : value <= goal
  const show = (n: number) => (unit === '×' ? x(n) : `${int(n)}${unit}`)
  return {
    id,
    label,
    value,
    target: goal,
    better,
    met,
    display: show(value),
    targetDisplay: `${better === 'higher' ? '≥' : '≤'} ${show(goal)}`,
  }
}

export function targetsOf(r: Results): Target[] {
  const out: Target[] = []
  if (r.floor) {
    // Issue 18: server CPU per request against the floors, lower is better.
    const f = r.floor.cpuRatio
    out.push(
      target(
        'floor-live',
        'unprotected route / bare Fastify (CPU per request)',
        f.liveVsBareFastify,
        1.5,
        'lower',
      ),
    )
    out.push(
      target(
        'floor-protected',
        'protected, cache off / Fastify + jose ES256 (CPU per request)',
        f.protectedCacheOffVsJose,
        0.8,
        'lower',
      ),
    )
    out.push(
      target(
        'floor-refresh',
        'refresh (SQLite) / oidc-provider memory (CPU per request)',
        f.refreshVsOidc,
        0.67,
        'lower',
      ),
    )
    out.push(
      target(
        'floor-introspect',
        'introspection / oidc-provider (CPU per request)',
        f.introspectVsOidc,
        0.67,
        'lower',
      ),
    )
    out.push(
      target(
        'floor-client-credentials',
        'client_credentials / oidc-provider (CPU per request)',
        f.clientCredentialsVsOidc,
        0.67,
        'lower',
      ),
    )
  }
  if (r.protected) {
    out.push(
      target(
        'protected-one-token',
        'protected/bare, cache on, one token',
        r.protected.ratio.oneToken,
        0.85,
        'higher',
      ),
    )
    out.push(
      target(
        'protected-rotation',
        `protected/bare, cache on, ${int(r.protected.rotationTokens)} tokens in rotation`,
        r.protected.ratio.rotation,
        0.75,
        'higher',
      ),
    )
    // Issue 16: a full revoked set costs at most 0.02 of the ratio without revocations.
    if (r.protected.ratio.revoked !== undefined)
      out.push(
        target(
          'protected-revoked',
          `protected/bare, one token, ${int(r.protected.revokedSessions)} revoked sessions (vs. none − 0.02)`,
          r.protected.ratio.revoked,
          r.protected.ratio.oneToken - 0.02,
          'higher',
        ),
      )
  }
  if (r.verify)
    for (const [alg, ratio] of Object.entries(r.verify.ratio))
      out.push(target(`verify-${alg}`, `uncached verify ${alg} / node:crypto`, ratio, 0.85, 'higher'))
  if (r.express)
    out.push(target('badge-express', 'badge/express (same ES256 token)', r.express.ratio.cached, 3, 'higher'))
  if (r.login) {
    out.push(target('login-bcrypt', 'logins / bcrypt limit', r.login.ratio, 0.9, 'higher'))
    out.push(target('login-p99', 'protected p99 under login load / idle p99', r.login.p99Ratio, 2, 'lower'))
  }
  if (r.refresh)
    out.push(
      target(
        'refresh-sqlite',
        'refresh/s on SQLite (file)',
        r.refresh.sqlite.perSecond,
        2500,
        'higher',
        '/s',
      ),
    )
  return out
}
