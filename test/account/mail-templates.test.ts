import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { buildTestApp, eachDialect, TEST_ENV } from '../helpers/app.js'
import { PASSWORD, uniqueEmail } from '../helpers/flows.js'
import { deliverMail, linkToken, startSmtpServer } from '../helpers/smtp.js'

// docs/account.md "Mail templates": MAIL_TEMPLATES_DIR overrides the built-in texts per
// kind and part; placeholders are filled (HTML-escaped in the HTML part); a bad folder or
// template refuses the start with a message naming the file.

function templateDir(t: { teardown(fn: () => void): void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'badge-templates-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body)
  return dir
}

await eachDialect(t, async (t, dialect) => {
  const smtp = await startSmtpServer(t)
  const dir = templateDir(t, {
    'reset_password.subject.txt': 'Password help for {{email}} at {{issuer}}\n',
    'reset_password.txt': 'Hello {{ email }},\nopen {{link}} within {{expires_in}}.\n',
    'reset_password.html': '<p>Hi {{email}}: <a href="{{link}}">reset</a> ({{expires_in}})</p>',
    'README.md': 'Not a template: left alone.',
  })
  const { app } = await buildTestApp(
    t,
    { MAIL_URL: smtp.url, MAIL_TEMPLATES_DIR: dir, EMAIL_VERIFICATION: 'optional' },
    dialect,
  )

  await t.test('an override is used in the mail that arrives over SMTP, and its link works', async (t) => {
    // An apostrophe is valid in an address and must be escaped in HTML.
    const email = uniqueEmail("o'brien")
    const signup = await app.inject({
      method: 'POST',
      url: '/v1/users',
      payload: { email, password: PASSWORD },
    })
    t.equal(signup.statusCode, 201)
    const forgot = await app.inject({ method: 'POST', url: '/v1/password/forgot', payload: { email } })
    t.equal(forgot.statusCode, 202)
    await deliverMail(app)

    const mail = smtp.mailsTo(email).find((m) => m.subject.startsWith('Password help'))
    t.ok(mail, 'the subject is the operator’s')
    t.equal(mail!.subject, `Password help for ${email} at http://badge.test`)
    const token = linkToken(mail!)
    t.match(
      mail!.decoded,
      `Hello ${email},\nopen http://badge.test/account/reset-password#token=${token} within 30 minutes.`.replace(
        /\n/g,
        '\r\n',
      ),
    )
    t.match(
      mail!.decoded,
      `<p>Hi ${email.replace("'", '&#39;')}: <a href="http://badge.test/account/reset-password#token=${token}">reset</a> (30 minutes)</p>`,
    )
    t.notOk(mail!.decoded.includes(`<p>Hi ${email}:`), 'the address is escaped in the HTML part')

    const verify = smtp.mailsTo(email).find((m) => m.subject === 'Confirm your email address')
    t.ok(verify, 'kinds without an override keep the built-in text')

    const reset = await app.inject({
      method: 'POST',
      url: '/v1/password/reset',
      payload: { token, new_password: 'templated new passphrase' },
    })
    t.equal(reset.statusCode, 204)
  })
})

t.test('a bad template folder refuses the start with a message naming the problem', async (t) => {
  const start = (dir: string) =>
    buildApp(loadConfig({ ...TEST_ENV, MAIL_TEMPLATES_DIR: dir }), { maintenanceTimer: false })
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    [
      'an unknown placeholder',
      { 'verify_email.txt': 'Open {{link}}, {{first_name}}.' },
      /verify_email\.txt: unknown placeholder \{\{first_name\}\}; verify_email allows \{\{link\}\}, \{\{email\}\}, \{\{issuer\}\}, \{\{expires_in\}\}/,
    ],
    [
      'a link in a notice',
      { 'account_deleted.html': '<p>{{link}}</p>' },
      /account_deleted\.html: unknown placeholder \{\{link\}\}; account_deleted allows \{\{email\}\}, \{\{issuer\}\}/,
    ],
    [
      'a link message without its link',
      { 'change_email.html': '<p>Welcome!</p>' },
      /change_email\.html: a change_email message must contain \{\{link\}\}/,
    ],
    [
      'a misspelt kind',
      { 'verify.txt': '{{link}}' },
      /verify\.txt: unknown template; expected <kind>\.subject\.txt, <kind>\.txt or <kind>\.html with kind one of verify_email, reset_password, change_email, email_change_notice, account_deleted/,
    ],
    [
      'a two-line subject',
      { 'reset_password.subject.txt': 'Reset\nBcc: someone@example.com' },
      /reset_password\.subject\.txt: the subject must be one line/,
    ],
  ]
  for (const [name, files, message] of cases) {
    await t.rejects(start(templateDir(t, files)), message, name)
  }
  await t.rejects(
    start(join(tmpdir(), 'badge-no-such-template-folder')),
    /MAIL_TEMPLATES_DIR .*badge-no-such-template-folder cannot be read: ENOENT/,
    'a folder that does not exist',
  )
})
