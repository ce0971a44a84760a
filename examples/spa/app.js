// The demo app: sign up, log in, show the user and their sessions, revoke one, log out.
// Everything Badge-specific goes through badge-client.js; this file is only UI.
// Text is always set with textContent, never innerHTML.

import { BadgeClient, BadgeError } from './badge-client.js'

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
    say(explain(error))
  }
}

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
