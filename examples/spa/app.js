// The demo app: sign up, log in (password, then a second factor when the account has
// one, or a passkey alone), show the user, their sessions and passkeys, revoke one, log out.
// Everything Badge-specific goes through badge-client.js; this file is only UI.
// Text is always set with textContent, never innerHTML.

import { BadgeClient, BadgeError, MfaRequiredError } from './badge-client.js'

/** @type {{ badgeUrl: string }} */
const config = await (await fetch('config.json')).json()
const badge = new BadgeClient({ issuer: config.badgeUrl })
// For the browser tests and for poking around in the console.
Object.assign(globalThis, { badgeDemo: { badge } })

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))
/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id)).value

/** @param {string} text */
function say(text) {
  $('message').textContent = text
}

/** @param {unknown} error */
function explain(error) {
  if (error instanceof BadgeError) return error.description
  // navigator.credentials: the user closed the dialog, or the page's origin cannot use the RP ID.
  if (error instanceof DOMException) return `The passkey was not used (${error.name}).`
  return 'Badge could not be reached.'
}

/** @param {string} path @param {RequestInit} [init] */
async function api(path, init) {
  return badge.fetch(`${config.badgeUrl}${path}`, init)
}

async function showSignedIn() {
  $('signed-out').hidden = true
  $('signed-in').hidden = false
  const res = await api('/v1/me')
  if (!res.ok) return say('Could not load your profile.')
  const me = await res.json()
  $('status').textContent = `Logged in as ${me.email}`
  $('profile-email').textContent = me.email
  $('profile-name').textContent = me.name ?? '—'
  $('profile-id').textContent = me.id
  $('profile-scopes').textContent = me.scopes.join(' ')
  await showSessions()
  await showPasskeys()
}

/**
 * @typedef {{ id: string, created_at: string | number, last_used_at: string | number,
 *   user_agent: string | null, current: boolean }} SessionView
 */

async function showSessions() {
  const table = $('sessions-table')
  const res = await api('/v1/me/sessions')
  if (!res.ok) return say('Could not load your sessions.')
  table.hidden = false
  /** @type {{ items: SessionView[] }} */
  const { items: sessions } = await res.json()
  $('sessions').replaceChildren(...sessions.map(sessionRow))
}

/** @param {string | number} time */
const when = (time) => new Date(time).toLocaleString()

/** A short browser name for a User-Agent string ("Firefox 133"), or its start. */
function browserName(/** @type {string | null} */ ua) {
  if (!ua) return '—'
  const match = /(Firefox|Edg|OPR|HeadlessChrome|Chrome|Version)\/(\d+)/.exec(ua)
  if (!match) return ua.slice(0, 40)
  const names = /** @type {Record<string, string>} */ ({ Edg: 'Edge', OPR: 'Opera', Version: 'Safari' })
  return `${names[match[1] ?? ''] ?? match[1]} ${match[2]}`
}

/** @param {SessionView} session */
function sessionRow(session) {
  const row = document.createElement('tr')
  row.dataset.sessionId = session.id
  const cells = [
    session.current ? `${session.id.slice(0, 8)} (this one)` : session.id.slice(0, 8),
    when(session.created_at),
    when(session.last_used_at),
    browserName(session.user_agent),
  ]
  for (const text of cells) {
    const cell = document.createElement('td')
    cell.textContent = text
    row.append(cell)
  }
  if (session.current) row.classList.add('current')
  const button = document.createElement('button')
  button.type = 'button'
  button.className = 'secondary revoke'
  button.textContent = session.current ? 'Log out' : 'Revoke'
  button.addEventListener('click', () => (session.current ? logOut() : revoke(session.id)))
  const action = document.createElement('td')
  action.append(button)
  row.append(action)
  return row
}

/** @param {string} id */
async function revoke(id) {
  const res = await api(`/v1/me/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' })
  if (!res.ok && res.status !== 404) return say('Could not revoke that session.')
  say('')
  await showSessions()
}

function showSignedOut() {
  $('signed-in').hidden = true
  $('signed-out').hidden = false
  $('status').textContent = 'Not logged in'
}

async function logOut() {
  try {
    await badge.logout()
  } catch (error) {
    say(explain(error))
  }
}

/** @param {string} email @param {string} password */
async function logIn(email, password) {
  try {
    await badge.login(email, password)
    say('')
  } catch (error) {
    if (error instanceof MfaRequiredError) return askSecondFactor(error)
    say(explain(error))
  }
}

// Second factors and passkeys (Badge docs/contract.md §10).

/** @type {MfaRequiredError | null} */
let pendingMfa = null

/** The password was right: ask for a code, or offer a passkey when the account has one. */
function askSecondFactor(/** @type {MfaRequiredError} */ error) {
  pendingMfa = error
  $('login-form').hidden = true
  $('signup-form').hidden = true
  $('mfa-form').hidden = false
  $('mfa-passkey').hidden = !error.mfaMethods.includes('passkey')
  say('Enter the code from your authenticator app, or use a passkey.')
}

function endSecondFactor() {
  pendingMfa = null
  $('mfa-form').hidden = true
  $('login-form').hidden = false
  $('signup-form').hidden = false
  const code = /** @type {HTMLInputElement} */ ($('mfa-code'))
  code.value = ''
}

/** @param {() => Promise<unknown>} step */
async function finishLogin(step) {
  try {
    await step()
    endSecondFactor()
    say('')
  } catch (error) {
    say(explain(error))
    // invalid_grant: the mfa token is spent, expired or out of attempts; start over.
    if (error instanceof BadgeError && error.error === 'invalid_grant') endSecondFactor()
  }
}

$('mfa-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const code = input('mfa-code').trim()
  if (!pendingMfa || !code) return
  const token = pendingMfa.mfaToken
  // TOTP codes are 6 digits; recovery codes look like abcd-efgh-ijkl.
  const factor = /^[0-9]{6}$/.test(code) ? { otp: code } : { recoveryCode: code }
  void finishLogin(() => badge.completeMfa(token, factor))
})

$('mfa-passkey').addEventListener('click', () => {
  if (!pendingMfa) return
  const token = pendingMfa.mfaToken
  void finishLogin(() => badge.completeMfaWithPasskey(token))
})

$('passkey-login').addEventListener('click', () => void finishLogin(() => badge.loginWithPasskey()))

async function showPasskeys() {
  const res = await api('/v1/me/passkeys')
  if (!res.ok) return say('Could not load your passkeys.')
  /** @type {{ passkeys: { id: string, name: string, created_at: string }[] }} */
  const { passkeys } = await res.json()
  $('passkeys').replaceChildren(
    ...passkeys.map((passkey) => {
      const item = document.createElement('li')
      item.dataset.passkeyId = passkey.id
      item.textContent = `${passkey.name} (added ${when(passkey.created_at)})`
      return item
    }),
  )
}

$('passkey-add').addEventListener('click', async () => {
  try {
    await badge.registerPasskey(input('passkey-name').trim() || undefined)
    say('Passkey added: you can now log in with it.')
    await showPasskeys()
  } catch (error) {
    say(explain(error))
  }
})

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault()
  void logIn(input('login-email'), input('login-password'))
})

$('signup-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const email = input('signup-email')
  const password = input('signup-password')
  const name = input('signup-name').trim()
  try {
    await badge.signUp(name ? { email, password, name } : { email, password })
  } catch (error) {
    return say(explain(error))
  }
  await logIn(email, password)
})

$('logout').addEventListener('click', () => void logOut())

$('logout-everywhere').addEventListener('click', async () => {
  try {
    await badge.logoutEverywhere()
  } catch (error) {
    say(explain(error))
  }
})

// Views follow the session: login and logout here or in another tab, or a session
// revoked elsewhere that the next refresh finds gone.
let signedIn = false
badge.onChange((session) => {
  if (Boolean(session) === signedIn) return
  signedIn = Boolean(session)
  if (signedIn) void showSignedIn()
  else showSignedOut()
})

try {
  if (!(await badge.restore())) showSignedOut()
} catch (error) {
  showSignedOut()
  say(explain(error))
}
document.body.dataset.ready = 'true'
