import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// How long and how often each scenario runs. --quick is the CI smoke mode (< 60 s):
// one short round of everything, so CI proves the benchmark runs, not how fast.

export interface Settings {
  quick: boolean
  /** Rounds of each HTTP comparison; medians are reported. */
  rounds: number
  /** Seconds of load per HTTP measurement, and of warm-up before the rounds. */
  seconds: number
  warmup: number
  connections: number
  /** Distinct tokens in rotation. */
  rotation: number
  verifyRounds: number
  verifyMs: number
  bcryptCompares: number
  loginRounds: number
  loginSeconds: number
  probeRate: number
  probeSeconds: number
  refreshRounds: number
  refreshSeconds: number
  /** A scratch directory for this run's SQLite files. */
  dir: string
}

export function settings(quick: boolean): Settings {
  const dir = mkdtempSync(join(tmpdir(), 'badge-bench-'))
  return quick
    ? {
        quick,
        rounds: 1,
        seconds: 1,
        warmup: 0.5,
        connections: 10,
        rotation: 1000,
        verifyRounds: 1,
        verifyMs: 150,
        bcryptCompares: 1,
        loginRounds: 1,
        loginSeconds: 3,
        probeRate: 200,
        probeSeconds: 1.5,
        refreshRounds: 1,
        refreshSeconds: 1,
        dir,
      }
    : {
        quick,
        // BENCH_ROUNDS / BENCH_SECONDS: more, shorter rounds steady the paired ratios on a busy machine.
        rounds: Number(process.env.BENCH_ROUNDS) || 5,
        seconds: Number(process.env.BENCH_SECONDS) || 4,
        warmup: 2,
        connections: 10,
        rotation: 10_000,
        verifyRounds: 5,
        verifyMs: 600,
        bcryptCompares: 3,
        loginRounds: 3,
        loginSeconds: 10,
        probeRate: 200,
        probeSeconds: 6,
        refreshRounds: 3,
        refreshSeconds: 4,
        dir,
      }
}

/** Badge's environment for every bench server: quiet, no rate limits (they would be measured instead). */
export function badgeEnv(
  s: Settings,
  name: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: `sqlite:${join(s.dir, `${name}.db`)}`,
    ISSUER: 'http://badge.bench',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_ENABLED: 'false',
    BCRYPT_COST: '4',
    ...extra,
  }
}
