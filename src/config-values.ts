import { z } from 'zod'
import { SCOPE_TOKEN } from './scopes.js'

// Value schemas for environment variables: each turns a string into a typed value or
// fails with a message that completes "Invalid configuration: NAME …".

export const seconds = (what: string) =>
  z
    .string()
    .regex(/^[0-9]{1,10}$/, `must be a whole number of seconds (${what})`)
    .transform(Number)
    .refine((n) => n > 0, 'must be greater than 0')

export const count = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,10}$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max}`)

export const bool = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' }))
  .transform((s) => s === 'true' || s === '1' || s === 'yes')

export const scopeList = z
  .string()
  .transform((s) => s.split(/\s+/).filter(Boolean))
  .refine(
    (list) => list.every((s) => SCOPE_TOKEN.test(s)),
    'must be space-separated scope tokens (RFC 6749 §3.3)',
  )
  // Bounds the documented scope lists (maxItems, maxLength in openapi.yaml).
  .refine(
    (list) => list.length <= 100 && list.every((s) => s.length <= 200),
    'must list at most 100 scopes of at most 200 characters',
  )

export const url = (what: string) =>
  z
    .string()
    .refine(
      (s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol),
      `must be an http(s) URL (${what})`,
    )

/** A limit as "COUNT/WINDOW", e.g. 10/15m: at most COUNT in WINDOW (s, m or h). */
export interface Limit {
  max: number
  windowMs: number
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const

export const limit = z
  .string()
  .regex(/^[0-9]{1,7}\/[0-9]{1,5}[smh]$/, 'must be COUNT/WINDOW such as 10/15m (window in s, m or h)')
  .transform((s): Limit => {
    const [max, window] = s.split('/') as [string, string]
    const unit = window.slice(-1) as keyof typeof UNIT_MS
    return { max: Number(max), windowMs: Number(window.slice(0, -1)) * UNIT_MS[unit] }
  })
  .refine((l) => l.max > 0 && l.windowMs > 0, 'must have a COUNT and WINDOW greater than 0')

export const origins = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
  )
  // Wildcards (alone or as *.example.com) would hand the refresh cookie to any matching site.
  .refine((list) => list.every((o) => !o.includes('*')), 'must list exact origins; "*" is refused')
  .refine(
    (list) => list.every((o) => URL.canParse(o) && new URL(o).origin === o),
    'must be comma-separated origins such as https://app.example.com (scheme, host and port only)',
  )

/** A mailed link: an http(s) URL holding the placeholder {token} (docs/contract.md §9). */
export const linkTemplate = z
  .string()
  .refine(
    (s) => s.includes('{token}') && URL.canParse(s.replace('{token}', 'x')) && /^https?:/.test(s),
    'must be an http(s) URL containing {token}',
  )
