import type { MailMessage } from './message.js'

// The account-lifecycle messages (docs/account.md): a clear subject, the link, how long it
// lasts, and what to do if the recipient did not ask. Each has a text and an HTML part;
// every value put into the HTML is escaped.

export type TemplateName = 'verify_email' | 'reset_password' | 'change_email'

export interface TemplateValues {
  link: string
  /** The link's lifetime in seconds. */
  ttl: number
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

function duration(seconds: number): string {
  if (seconds % 86400 === 0) return seconds === 86400 ? '24 hours' : `${seconds / 86400} days`
  if (seconds % 3600 === 0) return seconds === 3600 ? '1 hour' : `${seconds / 3600} hours`
  if (seconds % 60 === 0) return seconds === 60 ? '1 minute' : `${seconds / 60} minutes`
  return `${seconds} seconds`
}

const TEXTS: Record<TemplateName, { subject: string; intro: string; action: string; ignore: string }> = {
  verify_email: {
    subject: 'Confirm your email address',
    intro: 'Please confirm that this is your email address by opening the link below.',
    action: 'Confirm my email address',
    ignore: 'If you did not create an account, you can ignore this email: nothing will change.',
  },
  reset_password: {
    subject: 'Reset your password',
    intro: 'Someone (hopefully you) asked to reset the password of the account with this email address.',
    action: 'Choose a new password',
    ignore:
      'If you did not ask for this, ignore this email: your password stays as it is and the link expires on its own.',
  },
  change_email: {
    subject: 'Confirm your new email address',
    intro: 'Someone (hopefully you) asked to use this address for their account from now on.',
    action: 'Confirm this address',
    ignore: 'If you did not ask for this, ignore this email: nothing will change.',
  },
}

export function renderTemplate(name: TemplateName, to: string, { link, ttl }: TemplateValues): MailMessage {
  const t = TEXTS[name]
  const lasts = `The link works once and expires in ${duration(ttl)}.`
  const text = `${t.intro}\n\n${t.action}:\n${link}\n\n${lasts}\n\n${t.ignore}\n`
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">',
    `<p>${escapeHtml(t.intro)}</p>`,
    `<p><a href="${escapeHtml(link)}">${escapeHtml(t.action)}</a></p>`,
    `<p>Or paste this address into your browser:<br>${escapeHtml(link)}</p>`,
    `<p>${escapeHtml(lasts)}</p>`,
    `<p>${escapeHtml(t.ignore)}</p>`,
    '</body></html>',
  ].join('\n')
  return { to, subject: t.subject, text, html }
}

/** A notice with no link (docs/account.md): the account named by this address was deleted. */
export function renderAccountDeletedNotice(to: string): MailMessage {
  const subject = 'Your account was deleted'
  const body = [
    'The account with this email address was deleted at its owner’s request, and every device signed in to it was signed out.',
    'If you did not do this, someone knew your password: contact the service’s support. The address can be used to sign up again.',
  ]
  return {
    to,
    subject,
    text: `${body.join('\n\n')}\n`,
    html: [
      '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">',
      ...body.map((p) => `<p>${escapeHtml(p)}</p>`),
      '</body></html>',
    ].join('\n'),
  }
}

/**
 * A notice with no link (docs/account.md), to the address being replaced: a change was
 * asked for. It names no new address and carries nothing that completes the change.
 */
export function renderEmailChangeNotice(to: string): MailMessage {
  return notice(to, 'Your email address is being changed', [
    'Someone signed in to the account with this email address and asked to change its address. The change happens only when the new address is confirmed through the link mailed to it.',
    'If this was not you, someone knows your password: change it now (or reset it), which also stops the change.',
  ])
}

function notice(to: string, subject: string, body: string[]): MailMessage {
  return {
    to,
    subject,
    text: `${body.join('\n\n')}\n`,
    html: [
      '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">',
      ...body.map((p) => `<p>${escapeHtml(p)}</p>`),
      '</body></html>',
    ].join('\n'),
  }
}
