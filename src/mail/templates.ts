import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MailMessage } from './message.js'

// The account-lifecycle messages (docs/account.md "Mail templates"): a clear subject, the
// link, how long it lasts, and what to do if the recipient did not ask. Each has a text
// and an HTML part. The built-in wording is written as templates in the same placeholder
// language operators use, so one renderer serves both, and an operator's file for a kind
// and part (MAIL_TEMPLATES_DIR) replaces the built-in one. Every value put into the HTML
// part is escaped.

/** Messages that carry a link token, and notices that carry none. */
export const LINK_KINDS = ['verify_email', 'reset_password', 'change_email'] as const
export const NOTICE_KINDS = ['email_change_notice', 'account_deleted'] as const
export type LinkKind = (typeof LINK_KINDS)[number]
export type NoticeKind = (typeof NOTICE_KINDS)[number]
export type MailKind = LinkKind | NoticeKind
const KINDS: readonly MailKind[] = [...LINK_KINDS, ...NOTICE_KINDS]

/** The three parts of a message and the file name suffix an operator's override uses. */
const PARTS = { subject: '.subject.txt', text: '.txt', html: '.html' } as const
type Part = keyof typeof PARTS
type Template = Record<Part, string>

const LINK_PLACEHOLDERS = ['link', 'email', 'issuer', 'expires_in'] as const
const NOTICE_PLACEHOLDERS = ['email', 'issuer'] as const
type Placeholder = (typeof LINK_PLACEHOLDERS)[number]

const isLinkKind = (kind: MailKind): kind is LinkKind => (LINK_KINDS as readonly string[]).includes(kind)
const placeholdersOf = (kind: MailKind): readonly Placeholder[] =>
  isLinkKind(kind) ? LINK_PLACEHOLDERS : NOTICE_PLACEHOLDERS

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  )
}

/** A link lifetime in words: "30 minutes", "24 hours". */
export function duration(seconds: number): string {
  if (seconds % 86400 === 0) return seconds === 86400 ? '24 hours' : `${seconds / 86400} days`
  if (seconds % 3600 === 0) return seconds === 3600 ? '1 hour' : `${seconds / 3600} hours`
  if (seconds % 60 === 0) return seconds === 60 ? '1 minute' : `${seconds / 60} minutes`
  return `${seconds} seconds`
}

const HTML_OPEN = '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">'
const HTML_CLOSE = '</body></html>'

function linkTemplate(t: { subject: string; intro: string; action: string; ignore: string }): Template {
  const lasts = 'The link works once and expires in {{expires_in}}.'
  return {
    subject: t.subject,
    text: `${t.intro}\n\n${t.action}:\n{{link}}\n\n${lasts}\n\n${t.ignore}\n`,
    html: [
      HTML_OPEN,
      `<p>${escapeHtml(t.intro)}</p>`,
      `<p><a href="{{link}}">${escapeHtml(t.action)}</a></p>`,
      '<p>Or paste this address into your browser:<br>{{link}}</p>',
      `<p>${lasts}</p>`,
      `<p>${escapeHtml(t.ignore)}</p>`,
      HTML_CLOSE,
    ].join('\n'),
  }
}

function noticeTemplate(subject: string, paragraphs: string[]): Template {
  return {
    subject,
    text: `${paragraphs.join('\n\n')}\n`,
    html: [HTML_OPEN, ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`), HTML_CLOSE].join('\n'),
  }
}

const BUILT_IN: Record<MailKind, Template> = {
  verify_email: linkTemplate({
    subject: 'Confirm your email address',
    intro: 'Please confirm that this is your email address by opening the link below.',
    action: 'Confirm my email address',
    ignore: 'If you did not create an account, you can ignore this email: nothing will change.',
  }),
  reset_password: linkTemplate({
    subject: 'Reset your password',
    intro: 'Someone (hopefully you) asked to reset the password of the account with this email address.',
    action: 'Choose a new password',
    ignore:
      'If you did not ask for this, ignore this email: your password stays as it is and the link expires on its own.',
  }),
  change_email: linkTemplate({
    subject: 'Confirm your new email address',
    intro: 'Someone (hopefully you) asked to use this address for their account from now on.',
    action: 'Confirm this address',
    ignore: 'If you did not ask for this, ignore this email: nothing will change.',
  }),
  // Sent to the address being replaced: it names no new address and carries nothing
  // that completes the change.
  email_change_notice: noticeTemplate('Your email address is being changed', [
    'Someone signed in to the account with this email address and asked to change its address. The change happens only when the new address is confirmed through the link mailed to it.',
    'If this was not you, someone knows your password: change it now (or reset it), which also stops the change.',
  ]),
  account_deleted: noticeTemplate('Your account was deleted', [
    'The account with this email address was deleted at its owner’s request, and every device signed in to it was signed out.',
    'If you did not do this, someone knew your password: contact the service’s support. The address can be used to sign up again.',
  ]),
}

/** A template that cannot be used; its message names the file and what is wrong. */
export class MailTemplateError extends Error {
  override name = 'MailTemplateError'
}

const PLACEHOLDER = /\{\{([^{}]*)\}\}/g

/** Checks one part of `kind`'s template; `source` names it in the error. */
function validate(kind: MailKind, part: Part, body: string, source: string): string {
  const allowed = placeholdersOf(kind)
  for (const match of body.matchAll(PLACEHOLDER)) {
    const name = match[1]!.trim()
    if (!(allowed as readonly string[]).includes(name)) {
      throw new MailTemplateError(
        `${source}: unknown placeholder {{${name}}}; ${kind} allows ${allowed.map((p) => `{{${p}}}`).join(', ')}`,
      )
    }
  }
  if (part === 'subject') {
    const line = body.trim()
    if (line === '' || /[\r\n]/.test(line))
      throw new MailTemplateError(`${source}: the subject must be one line`)
    return line
  }
  if (body.trim() === '') throw new MailTemplateError(`${source}: the file is empty`)
  if (isLinkKind(kind) && !/\{\{\s*link\s*\}\}/.test(body)) {
    throw new MailTemplateError(`${source}: a ${kind} message must contain {{link}}`)
  }
  return body
}

/**
 * Reads an operator's overrides from `dir`: `<kind>.subject.txt`, `<kind>.txt` and
 * `<kind>.html` for any kind; a missing file keeps the built-in part. Other .txt and
 * .html files are refused (a misspelt name would otherwise be ignored silently); files
 * of other types (a README) are left alone.
 */
function readOverrides(dir: string): Partial<Record<MailKind, Partial<Template>>> {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (error) {
    throw new MailTemplateError(`MAIL_TEMPLATES_DIR ${dir} cannot be read: ${(error as Error).message}`)
  }
  const overrides: Partial<Record<MailKind, Partial<Template>>> = {}
  for (const name of names.sort()) {
    if (!name.endsWith('.txt') && !name.endsWith('.html')) continue
    const part = (Object.keys(PARTS) as Part[]).find((p) => name.endsWith(PARTS[p]))!
    const kind = name.slice(0, -PARTS[part].length) as MailKind
    const source = `MAIL_TEMPLATES_DIR ${join(dir, name)}`
    if (!KINDS.includes(kind)) {
      throw new MailTemplateError(
        `${source}: unknown template; expected <kind>.subject.txt, <kind>.txt or <kind>.html with kind one of ${KINDS.join(', ')}`,
      )
    }
    let body: string
    try {
      body = readFileSync(join(dir, name), 'utf8')
    } catch (error) {
      throw new MailTemplateError(`${source} cannot be read: ${(error as Error).message}`)
    }
    overrides[kind] = { ...overrides[kind], [part]: validate(kind, part, body, source) }
  }
  return overrides
}

function fill(body: string, values: Partial<Record<Placeholder, string>>, html: boolean): string {
  return body.replace(PLACEHOLDER, (_, name: string) => {
    const value = values[name.trim() as Placeholder] ?? ''
    return html ? escapeHtml(value) : value
  })
}

/**
 * The message templates, read and checked once at start: the built-ins, with the
 * overrides in `dir` (MAIL_TEMPLATES_DIR) when given. Throws MailTemplateError.
 */
export function loadMailTemplates(options: { dir?: string; issuer: string }) {
  const overrides = options.dir ? readOverrides(options.dir) : {}
  const templates = Object.fromEntries(
    KINDS.map((kind) => [kind, { ...BUILT_IN[kind], ...overrides[kind] }]),
  ) as Record<MailKind, Template>

  function render(kind: MailKind, to: string, values: Partial<Record<Placeholder, string>>): MailMessage {
    const t = templates[kind]
    const all = { ...values, email: to, issuer: options.issuer }
    return {
      to,
      subject: fill(t.subject, all, false),
      text: fill(t.text, all, false),
      html: fill(t.html, all, true),
    }
  }

  return {
    /** A message carrying `link`, valid for `ttl` seconds. */
    linkMail(kind: LinkKind, to: string, { link, ttl }: { link: string; ttl: number }): MailMessage {
      return render(kind, to, { link, expires_in: duration(ttl) })
    },
    /** A notice without a link. */
    notice(kind: NoticeKind, to: string): MailMessage {
      return render(kind, to, {})
    },
  }
}

export type MailTemplates = ReturnType<typeof loadMailTemplates>
