import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { login, PASSWORD, passwordGrant } from '../helpers/flows.js'
import { enableTotp, mfaGrant, totpCode } from '../helpers/mfa.js'

// Wrong second-factor codes count in the failed-sign-in limits (docs/contract.md §7, §10),
// under a per-user counter that a correct password does not reset: knowing the password
// buys no extra guesses at the code, however many mfa_tokens it opens.

t.test(
  'wrong codes reach the failed-sign-in limit across mfa_tokens; a right password does not reset it',
  async (t) => {
    const { app, clock } = await buildTestApp(t, {
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_LOGIN_ACCOUNT: '3/15m',
    })
    const { user, tokens } = await login(app)
    const { secret } = await enableTotp(app, tokens.access_token, clock)
    const wrong = totpCode(secret, clock, 9)
    const mfaToken = async () => {
      const res = await passwordGrant(app, { username: user.email, password: PASSWORD })
      t.equal(res.json().error, 'mfa_required', 'the password itself is never throttled by code failures')
      return res.json().mfa_token as string
    }
    for (let i = 0; i < 3; i++) {
      const res = await mfaGrant(app, { mfa_token: await mfaToken(), otp: wrong })
      t.equal(res.statusCode, 400)
      t.equal(res.json().error, 'invalid_grant')
    }
    const limited = await mfaGrant(app, { mfa_token: await mfaToken(), otp: totpCode(secret, clock, 1) })
    t.equal(limited.statusCode, 429)
    t.equal(limited.json().error, 'too_many_requests')
    t.ok(Number(limited.headers['retry-after']) > 0)
    clock.advance(15 * 60_000 + 1000)
    const later = await mfaGrant(app, { mfa_token: await mfaToken(), otp: totpCode(secret, clock) })
    t.equal(later.statusCode, 200, 'the window passes and a right code logs in')
  },
)
