import { int, type Results, x } from './report.js'
import type { FloorResult } from './scenarios/floor.js'
import type { RefreshResult } from './scenarios/refresh.js'
import { MISSED } from './why-missed.js'

// bench/RESULTS.md from one run's results. Every figure is shown as a ratio of a baseline
// measured in the same run; raw numbers follow in brackets only to show scale.

const FLOOR_LABELS: Record<string, string> = {
  badgeLive: '`GET /health/live`',
  badgeProtectedCacheOff: 'protected route, cache off (ES256 verify each time)',
  badgeProtected: 'protected route, cache on',
  badgeClientCredentials: 'client_credentials',
  badgeIntrospect: 'introspection',
  badgeRefresh: 'refresh (SQLite file, rotated)',
}

/** The before/after table of a BENCH_BEFORE run: both checkouts measured in the same rounds. */
function beforeAfter(f: FloorResult): string[] {
  if (!f.afterOverBefore) return []
  const c = f.cpuUsPerRequest as Record<string, number>
  return [
    '',
    `**Before/after, same run**: Badge at \`${f.beforeCommit ?? '?'}\` (before this work) measured in the same`,
    'rounds as this checkout, each pair back to back (`BENCH_BEFORE`). The ratio is the median of the',
    "per-round ratios, which cancels most of a shared machine's drift.",
    '',
    '| Badge request | before [CPU µs/req] | after [CPU µs/req] | after / before |',
    '|---|---|---|---|',
    ...Object.entries(f.afterOverBefore).map(
      ([v, ratio]) =>
        `| ${FLOOR_LABELS[v] ?? v} | [${c[`before.${v}`]?.toFixed(1)}] | [${c[v]?.toFixed(1)}] | **${x(ratio)}** |`,
    ),
  ]
}

function section(title: string, lines: string[]): string {
  return `## ${title}\n\n${lines.join('\n')}\n`
}

export function renderMarkdown(r: Results): string {
  const m = r.meta
  const parts: string[] = []
  parts.push(`# Badge benchmark results

Written by \`npm run bench\` (${m.mode} run). Every figure is a ratio of a baseline measured
**in the same run on the same machine**; raw numbers, in brackets, only show scale.

| | |
|---|---|
| date | ${m.date} |
| machine | ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GiB, ${m.platform} |
| Node.js | ${m.node} |
| pinning | ${m.pinned} |
| load average (1/5/15 min) | ${m.loadAverage.start.join(' / ')} at start, ${m.loadAverage.end.join(' / ')} at end |
| duration | ${m.seconds} s |
${m.note ? `| conditions | ${m.note} |\n` : ''}`)

  if (r.targets?.length) {
    const rows = r.targets.map(
      (t) => `| ${t.label} | **${t.display}** | ${t.targetDisplay} | ${t.met ? 'met' : '**missed**'} |`,
    )
    parts.push(section('Targets', ['| measure | this run | target | |', '|---|---|---|---|', ...rows]))
  }

  if (r.floor) {
    const f = r.floor
    const c = f.cpuUsPerRequest
    const row = (label: string, v: keyof typeof c, ratio: string) =>
      `| ${label} | ${ratio} | [${c[v].toFixed(1)}] | [${int(f.rps[v])}] | ${f.failed[v]} |`
    parts.push(
      section('floor: Badge against bare Fastify, Fastify + jose and oidc-provider', [
        'Server CPU time per answered request, each server alone in its own process on CPU 1 (one',
        'under load at a time, rounds interleaved), autocannon on CPU 0; medians over rounds. Lower is',
        'better: Badge / floor. Every token is ES256 on both sides. Badge runs as `npm start` builds it',
        "(its own logger at LOG_LEVEL=silent, SQLite file, rate limits off); node-oidc-provider's storage",
        'is its in-memory adapter (no I/O at all), with JWT access tokens.',
        '',
        '| request | Badge / floor (CPU) | [CPU µs/req] | [req/s] | failed |',
        '|---|---|---|---|---|',
        row('bare Fastify 5, `GET /health/live`, no plugins (floor)', 'fastifyBare', '1.00×'),
        row('Badge `GET /health/live`', 'badgeLive', `**${x(f.cpuRatio.liveVsBareFastify)}**`),
        row('Fastify + jose, protected ES256 (floor)', 'joseProtected', '1.00×'),
        row(
          'Badge protected, cache off',
          'badgeProtectedCacheOff',
          `**${x(f.cpuRatio.protectedCacheOffVsJose)}**`,
        ),
        row('Badge protected, cache on', 'badgeProtected', x(c.badgeProtected / c.joseProtected)),
        row('oidc-provider client_credentials (floor)', 'oidcClientCredentials', '1.00×'),
        row(
          'Badge client_credentials',
          'badgeClientCredentials',
          `**${x(f.cpuRatio.clientCredentialsVsOidc)}**`,
        ),
        row('oidc-provider introspection, opaque token (floor)', 'oidcIntrospect', '1.00×'),
        row('Badge introspection, access token', 'badgeIntrospect', `**${x(f.cpuRatio.introspectVsOidc)}**`),
        row('oidc-provider refresh, rotated, memory (floor)', 'oidcRefresh', '1.00×'),
        row('Badge refresh, rotated, SQLite file', 'badgeRefresh', `**${x(f.cpuRatio.refreshVsOidc)}**`),
        '',
        `Peak RSS: ${Object.entries(f.peakRssMb)
          .map(([name, mb]) => `${name} ${int(mb)} MiB`)
          .join(', ')}.`,
        ...beforeAfter(f),
        '',
        'protected/bare with 10,000 revoked sessions in the in-memory revoked set is in the protected/bare section.',
      ]),
    )
  }

  if (r.floor)
    parts.push(
      section('What changed to cut the per-request cost (issue 18), and why', [
        'Each cut is one commit whose message carries its own paired before/after; the table above',
        'measures them all together when the run had `BENCH_BEFORE`. The full reasoning is in',
        '[`docs/performance.md`](../docs/performance.md). Every defence still runs on every request.',
        '',
        "1. **Security headers computed once.** `@fastify/helmet` rebuilt helmet's middleware from its",
        '   options on every request (re-parsing the CSP) behind two promise hooks: ~40% of a',
        '   `/health/live`. helmet now runs once at start-up against a recording response, and one',
        '   callback hook copies the frozen headers (`src/http/security-headers.ts`). Same headers.',
        '2. **No cookie plugin.** The refresh cookie, the only one, is parsed by its one reader and',
        '   written by its two reply helpers (`src/oauth/cookie.ts`): no cookie object, `Map` or onSend',
        '   hook on every request of every route.',
        '3. **No per-request child logger at `LOG_LEVEL=silent`** (`src/logger.ts`); at other levels the',
        '   children (and their `reqId`) are built as before.',
        "4. **Refresh reads once.** The rotation's one SELECT also joins the user and the client registry;",
        '   the client-binding check runs on that row before anything is spent; no re-read of the user.',
        '   8 statements → 6 on SQLite.',
        '5. **Precompiled SQL** for the rotation, the session touch and the client lookup',
        '   (`src/db/precompiled.ts`): Kysely no longer rebuilds and recompiles them per call.',
        '6. **Input hygiene skips empty requests**: nothing to scan when body, query and params are empty.',
        '7. **Refresh on PostgreSQL in two round trips**: the read, then one statement (data-modifying',
        '   CTEs) that spends, inserts the successor and touches the session atomically (was 8).',
        '   Alternating runs of `--only=refresh` on the busy machine (main+bench vs this branch; not',
        '   paired, PostgreSQL on the same 2 cores): server CPU per rotation 1,860–1,890 µs → 684–728 µs,',
        '   rotations/s 127–149 → 255–352. The ≥ 2,000/s target needs the quiet re-run.',
        '8. **ES256 verification with the KeyObject and DER**: Node 24 takes a slow path for',
        "   `{key, dsaEncoding: 'ieee-p1363'}` (~88 µs vs ~61 µs); the JWS signature is re-encoded as",
        '   canonical DER instead (`src/verify/signature.ts`).',
        '9. **Input hygiene with `isWellFormed`**: lone surrogates found natively instead of by a',
        '   lookaround regex (~9 µs of a token-sized body).',
        '10. **Bound values in joins** (`src/db/opaque-parameter.ts`): SQLite re-prepared the',
        "    rotation's joined read on every bind because its planner read the bare `?` (59 → 13 µs).",
        '11. **Successor sealed with HKDF + HMAC** (encrypt-then-MAC) instead of AES-256-GCM, whose',
        '    cipher creation alone is ~24 µs on Node 24 (36 → ~11 µs per seal).',
        '12. **Named prepared statements on PostgreSQL** for the precompiled statements: parsed and',
        '    planned once per connection (548 → 1,021 rotations/s in `--only=refresh`, one run each way).',
        '13. **bcrypt on worker threads at nice 10** (`src/users/bcrypt-pool.ts`): the event loop is',
        '    scheduled first while logins saturate the cores (p99 under login 2.63× → 1.64× idle in',
        '    `--only=login`, one run each way).',
        '',
        'Left as they are, on purpose: the zod check of every response before it is serialized (it',
        'guarantees no undeclared field leaves the server; a few µs), the session touch on every',
        'refresh (idle expiry), and sealing the successor for the reuse grace window.',
      ]),
    )

  if (r.protected) {
    const p = r.protected
    parts.push(
      section('protected/bare', [
        "A route doing no I/O behind `app.authenticate` + `requireScopes('profile:read')`, against the",
        'same route unprotected, in one Badge process (EdDSA key, logging off, rate limits off).',
        `autocannon, ${(m.settings as { connections: number }).connections} connections. Ratios are the median of per-round ratios (each round`,
        'runs every variant back to back, in an order rotated every round); req/s are medians.',
        "The CPU column divides the server's CPU time by the requests it answered: that ratio is what a",
        'dedicated core would show, and it holds even when other work shares the machine.',
        '',
        '| variant | protected / bare | by server CPU time | [req/s] | [CPU µs/req] | peak RSS |',
        '|---|---|---|---|---|---|',
        `| bare route (baseline) | 1.00× | 1.00× | [${int(p.rps.bare)}] | [${p.cpuUsPerRequest.bare.toFixed(1)}] | ${int(p.peakRssMb.bare)} MiB |`,
        `| cache on, one token | **${x(p.ratio.oneToken)}** | ${x(p.cpuRatio.oneToken)} | [${int(p.rps.oneToken)}] | [${p.cpuUsPerRequest.oneToken.toFixed(1)}] | ${int(p.peakRssMb.oneToken)} MiB |`,
        `| cache on, ${int(p.rotationTokens)} distinct tokens in rotation | **${x(p.ratio.rotation)}** | ${x(p.cpuRatio.rotation)} | [${int(p.rps.rotation)}] | [${p.cpuUsPerRequest.rotation.toFixed(1)}] | ${int(p.peakRssMb.rotation)} MiB |`,
        `| cache off (every request verifies a signature) | **${x(p.ratio.cacheOff)}** | ${x(p.cpuRatio.cacheOff)} | [${int(p.rps.cacheOff)}] | [${p.cpuUsPerRequest.cacheOff.toFixed(1)}] | ${int(p.peakRssMb.cacheOff)} MiB |`,
        ...(p.ratio.revoked === undefined
          ? []
          : [
              `| cache on, one token, ${int(p.revokedSessions)} revoked sessions in the in-memory revoked set | **${x(p.ratio.revoked)}** | ${x(p.cpuRatio.revoked)} | [${int(p.rps.revoked)}] | [${p.cpuUsPerRequest.revoked.toFixed(1)}] | ${int(p.peakRssMb.revoked)} MiB |`,
            ]),
        ...(p.ratio.dpop === undefined
          ? []
          : [
              `| DPoP: one bound token (cached), a new ES256 proof verified per request | **${x(p.ratio.dpop)}** | ${x(p.cpuRatio.dpop)} | [${int(p.rps.dpop)}] | [${p.cpuUsPerRequest.dpop.toFixed(1)}] | ${int(p.peakRssMb.dpop)} MiB |`,
            ]),
      ]),
    )
  }

  if (r.verify) {
    const v = r.verify
    const rows = Object.entries(v.opsPerSecond).map(
      ([alg, o]) =>
        `| ${alg} | **${x(v.ratio[alg as keyof typeof v.ratio])}** | ${x(v.fastJwtRatio[alg as keyof typeof v.fastJwtRatio])} | [${int(o.crypto)} / ${int(o.badge)} / ${int(o.fastJwt)}] |`,
    )
    parts.push(
      section('verify ops/s vs node:crypto', [
        "Badge's whole uncached check (parse, key lookup, signature, `typ`, claims) per second, against",
        'the bare `crypto.verify` (HMAC + `timingSafeEqual` for HS256) on the same key and bytes: the most',
        "this machine can do. fast-jwt's verifier is shown for reference. One core, in-process.",
        '',
        '| algorithm | Badge / crypto | fast-jwt / crypto | [crypto / Badge / fast-jwt ops/s] |',
        '|---|---|---|---|',
        ...rows,
      ]),
    )
  }

  if (r.express) {
    const e = r.express
    parts.push(
      section('badge/express', [
        'The same protected route and the same ES256 token (jsonwebtoken has no EdDSA) in Badge and in',
        'Express 5 + passport-jwt + jsonwebtoken (`bench/baselines/`), each alone on the same core.',
        '',
        '| | / express protected | by server CPU time | [req/s] | [CPU µs/req] | peak RSS |',
        '|---|---|---|---|---|---|',
        `| express + passport-jwt, protected (baseline) | 1.00× | 1.00× | [${int(e.rps.express)}] | [${e.cpuUsPerRequest.express.toFixed(1)}] | ${int(e.peakRssMb.express)} MiB |`,
        `| Badge, protected, cache on (default) | **${x(e.ratio.cached)}** | ${x(e.cpuRatio.cached)} | [${int(e.rps.badge)}] | [${e.cpuUsPerRequest.badge.toFixed(1)}] | ${int(e.peakRssMb.badge)} MiB |`,
        `| Badge, protected, cache off | **${x(e.ratio.cacheOff)}** | ${x(e.cpuRatio.cacheOff)} | [${int(e.rps.badgeCacheOff)}] | [${e.cpuUsPerRequest.badgeCacheOff.toFixed(1)}] | |`,
        `| express, bare route | ${x(e.rps.expressBare / e.rps.express)} | ${x(e.cpuUsPerRequest.express / e.cpuUsPerRequest.expressBare)} | [${int(e.rps.expressBare)}] | [${e.cpuUsPerRequest.expressBare.toFixed(1)}] | |`,
      ]),
    )
  }

  if (r.login) {
    const l = r.login
    parts.push(
      section('login/bcrypt-limit', [
        `Password-grant logins at BCRYPT_COST=12 against the bcrypt limit: ${l.cores} cores ÷ one compare`,
        `(${l.compareMs.toFixed(0)} ms, measured before each round) = ${l.limitPerSecond.toFixed(1)} logins/s. Meanwhile a`,
        'latency probe calls the protected route at a fixed rate; its p99 is compared with the idle p99.',
        "Server CPU per login near one compare's time means the server spends nothing but bcrypt: then a",
        'low ratio says other work took the cores, not that Badge wasted them.',
        '',
        '| | ratio | [raw] |',
        '|---|---|---|',
        `| logins / bcrypt limit | **${x(l.ratio)}** | [${l.loginsPerSecond.toFixed(1)} / ${l.limitPerSecond.toFixed(1)} per s; ${l.shed} shed with 503] |`,
        `| protected p99 under logins / idle | **${x(l.p99Ratio)}** | [${l.protectedP99Ms.underLogins.toFixed(2)} ms / ${l.protectedP99Ms.idle.toFixed(2)} ms] |`,
        `| one compare / server CPU per login | ${x(l.compareMs / l.cpuMsPerLogin)} | [${l.compareMs.toFixed(0)} ms / ${l.cpuMsPerLogin.toFixed(0)} ms] |`,
        `| peak RSS under login load | | ${int(l.peakRssMb)} MiB |`,
      ]),
    )
  }

  if (r.refresh) {
    const rows = [r.refresh.sqlite, r.refresh.postgres]
      .filter((f): f is RefreshResult => f !== undefined)
      .map(
        (f) =>
          `| ${f.database === 'sqlite' ? 'SQLite (file, WAL)' : 'PostgreSQL (loopback)'} | **${int(f.perSecond)}/s** | ${x(f.perSecond / 2500)} | ${f.cpuUsPerRotation.toFixed(0)} µs (${int(1e6 / f.cpuUsPerRotation)}/s) | ${f.failed} | ${int(f.peakRssMb)} MiB |`,
      )
    if (!r.refresh.postgres) rows.push('| PostgreSQL | not run: TEST_DATABASE_URL was not set | | | | |')
    parts.push(
      section('refresh/s', [
        'Refresh-token rotations per second, each connection walking its own session (every response',
        "carries the next request's refresh token). The target is absolute: 2,500/s on SQLite. Server",
        "CPU per rotation shows what one dedicated core would sustain (PostgreSQL's own CPU not included).",
        '',
        '| database | rotations | / 2,500 target | [server CPU per rotation (→ one core)] | failed | peak RSS |',
        '|---|---|---|---|---|---|',
        ...rows,
      ]),
    )
  }

  const missed = (r.targets ?? []).filter((t) => !t.met)
  if (missed.length)
    parts.push(
      section(
        'Missed targets: why, and what would close them',
        missed.map(
          (t) =>
            `- **${t.label}** (${t.display}, target ${t.targetDisplay}): ${MISSED[t.id] ?? 'not analysed yet.'}`,
        ),
      ),
    )

  parts.push(
    section('Method', [
      '- Servers run in their own processes (`node --import tsx`, which adds ~30 MiB of RSS), pinned with',
      '  `taskset` to CPU 1 while autocannon and the probes run on CPU 0; the login server is not pinned,',
      '  since bcrypt is meant to use every core.',
      '- Each HTTP comparison runs in interleaved rounds (order rotated every round) after a warm-up;',
      '  ratios are medians of per-round ratios, raw rates medians of the rounds. Server CPU per request',
      "  comes from the server's own `process.cpuUsage()`; verify ops/s count CPU time too. The latency",
      '  probe is open-loop: requests are timed from when they were due, so a stalled event loop shows up',
      '  in p99; during the login scenario the load process runs at a raised priority (`nice -5`) so',
      '  that its own waits for CPU are not charged to the server.',
      "- Every scenario's settings (rounds, seconds, connections, tokens) are in `results.json`.",
      '- Reproduce: `npm run bench` (full, a few minutes) or `npm run bench -- --quick` (smoke, < 60 s,',
      '  written to the git-ignored `bench/results.quick.json` and `bench/RESULTS.quick.md`). Set',
      '  `TEST_DATABASE_URL` to include PostgreSQL, and `--note "…"` to record the conditions.',
    ]),
  )
  return `${parts.join('\n')}`
}
