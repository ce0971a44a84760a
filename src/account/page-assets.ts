// The built-in account pages' static files (docs/account.md, "Built-in pages"), kept in
// code so that the compiled package serves them with no build step or asset copying.
// They are plain HTML, CSS and JavaScript: edit them here.

export const VERIFY_EMAIL_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Verify your email address</title>
<link rel="stylesheet" href="/account/pages.css">
<script src="/account/pages.js" defer></script>
</head>
<body data-page="verify-email">
<h1>Verify your email address</h1>
<p data-state="working">Checking your link…</p>
<p data-state="done" hidden id="done-text">Your email address is verified. You can close this page.</p>
<p data-state="error" hidden class="error" id="error-text"></p>
<noscript><p class="error">This page needs JavaScript.</p></noscript>
</body>
</html>
`

export const RESET_PASSWORD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Choose a new password</title>
<link rel="stylesheet" href="/account/pages.css">
<script src="/account/pages.js" defer></script>
</head>
<body data-page="reset-password">
<h1>Choose a new password</h1>
<form data-state="form" hidden id="form">
<label for="password">New password (at least 8 characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="8" maxlength="1024" required>
<label for="confirm">The same password again</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" minlength="8" maxlength="1024" required>
<p class="error" id="form-error" role="alert"></p>
<button id="submit" type="submit">Set password</button>
</form>
<p data-state="done" hidden id="done-text">Your password has been changed, and every device signed in to your account has been signed out. Sign in again with your new password.</p>
<p data-state="error" hidden class="error" id="error-text"></p>
<noscript><p class="error">This page needs JavaScript.</p></noscript>
</body>
</html>
`

export const PAGES_CSS = `body { font-family: system-ui, sans-serif; max-width: 28rem; margin: 4rem auto; padding: 0 1rem; color: #1a1a1a; line-height: 1.5; }
h1 { font-size: 1.4rem; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input { display: block; width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; margin-top: .25rem; }
button { margin-top: 1.25rem; padding: .6rem 1.2rem; font-size: 1rem; cursor: pointer; }
.error { color: #b00020; }
[hidden] { display: none !important; }
`

export const PAGES_JS = `// Badge's built-in account pages (docs/account.md, "Built-in pages"). No framework, no
// build step, nothing inline (the CSP allows only this file). The link's token is read
// from the URL fragment, which browsers never send to a server, and removed from the
// address bar at once so it does not linger in history.
;(() => {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') || ''
  history.replaceState(null, '', location.pathname)
  // Another link opened in this tab changes only the fragment: start over with it.
  addEventListener('hashchange', () => location.reload())
  const page = document.body.dataset.page
  const $ = (id) => document.getElementById(id)

  function show(state, text) {
    for (const el of document.querySelectorAll('[data-state]')) el.hidden = el.dataset.state !== state
    if (text !== undefined) $(state + "-text").textContent = text
  }

  async function post(path, body) {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : {} }
  }

  function failure(res) {
    if (res.body.error === 'invalid_link')
      return 'This link is invalid, has already been used or has expired. Ask for a new one.'
    if (res.status === 429) return 'Too many attempts. Please wait a while and try again.'
    return res.body.error_description || 'Something went wrong. Please try again.'
  }

  if (!token) {
    show('error', 'This page needs the link from your email. Open the link exactly as it was sent.')
    return
  }

  if (page === 'verify-email') {
    show('working')
    post('/v1/email/verify', { token }).then(
      (res) => (res.status === 200 ? show('done') : show('error', failure(res))),
      () => show('error', 'Badge could not be reached. Check your connection and reload this page.'),
    )
    return
  }

  if (page === 'reset-password') {
    show('form')
    $('form').addEventListener('submit', async (event) => {
      event.preventDefault()
      const password = $('password').value
      if (password !== $('confirm').value) {
        $('form-error').textContent = 'The two passwords do not match.'
        return
      }
      $('form-error').textContent = ''
      $('submit').disabled = true
      try {
        const res = await post('/v1/password/reset', { token, new_password: password })
        if (res.status === 204) show('done')
        else if (res.body.error === 'invalid_request') $('form-error').textContent = res.body.error_description
        else show('error', failure(res))
      } catch {
        $('form-error').textContent = 'Badge could not be reached. Check your connection and try again.'
      } finally {
        $('submit').disabled = false
      }
    })
  }
})()
`
