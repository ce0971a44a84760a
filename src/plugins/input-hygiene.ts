import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { invalidRequest } from '../errors.js'

// Two kinds of string are never meaningful input and each does harm further in:
// a NUL character (PostgreSQL text cannot hold one: the driver error would be a
// 500) and an unpaired UTF-16 surrogate (silently turned into U+FFFD on its way to
// the database or to bcrypt, so two different passwords would become one). Every
// string of every body, query and path is checked here, once, for every route, so
// no route has to remember it.

// String.prototype.isWellFormed (ES2024) is false exactly when a lone surrogate is present;
// it is native and a few times faster than the lookaround pattern it replaced, which
// scanned every token-sized body twice (docs/performance.md: "Input hygiene").
const isIllFormed = (s: string) => s.includes('\u0000') || !s.isWellFormed()

/** The path of the first ill-formed string in `root`, or undefined. Iterative: bodies may nest deeply. */
export function findIllFormedString(root: unknown, rootPath: string): string | undefined {
  const stack: Array<[unknown, string]> = [[root, rootPath]]
  while (stack.length > 0) {
    const [value, path] = stack.pop()!
    if (typeof value === 'string') {
      if (isIllFormed(value)) return path
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], `${path}.${i}`])
    } else if (typeof value === 'object' && value !== null) {
      for (const key of Object.keys(value)) {
        const name = key.replace(/[^\w$-]/g, '?').slice(0, 64)
        stack.push([(value as Record<string, unknown>)[key], `${path}.${name}`])
      }
    }
  }
  return undefined
}

/** True for undefined, null and objects without own keys: nothing to scan (most GETs). */
function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true
  if (typeof value !== 'object') return false
  for (const key in value) if (Object.hasOwn(value, key)) return false
  return true
}

function checkStrings(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) {
  // The common bodiless request has nothing to check: skip the scans' allocations.
  if (isEmpty(request.body) && isEmpty(request.query) && isEmpty(request.params)) return done()
  const where =
    findIllFormedString(request.body, 'body') ??
    findIllFormedString(request.query, 'query') ??
    findIllFormedString(request.params, 'params')
  if (where === undefined) return done()
  done(invalidRequest(`${where}: must not contain NUL characters or unpaired surrogates.`))
}

async function inputHygiene(app: FastifyInstance) {
  // preValidation: after the body is parsed, before any schema or handler sees it.
  app.addHook('preValidation', checkStrings)
}

export const inputHygienePlugin = fp(inputHygiene, { name: 'badge-input-hygiene', fastify: '5.x' })
