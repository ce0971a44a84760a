import { z } from 'zod'

// Schemas shared by several routes. Registered with ids so the OpenAPI document
// references one component instead of repeating it.

export const errorSchema = z
  .object({
    error: z.string().describe('Stable snake_case error code (CONTRACT §5).'),
    error_description: z.string().describe('A sentence for people; never contains secrets or internals.'),
  })
  .meta({
    id: 'Error',
    example: { error: 'invalid_request', error_description: 'body.email: Invalid email address' },
  })

export const userSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string().nullable(),
    scopes: z.array(z.string()),
    created_at: z.iso.datetime(),
  })
  .meta({ id: 'User' })

export const adminUserSchema = userSchema.extend({ disabled: z.boolean() }).meta({ id: 'AdminUser' })

export const passwordSchema = z
  .string()
  .refine((s) => [...s].length >= 8, 'must be at least 8 characters')
  .refine((s) => s.length <= 1024, 'must be at most 1024 characters')
  .describe('At least 8 characters. Never truncated: every byte counts.')

export const emailSchema = z
  .string()
  .max(320)
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.email({ error: 'must be an email address' }).max(254))
  .describe('Trimmed and lower-cased before use.')

export const nameSchema = z.string().max(200).nullable().describe('Display name.')

/** Error responses every route may give, by status. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, errorSchema])) as Record<number, typeof errorSchema>
