import { STATUS_CODES } from 'node:http'
import type { ErrorCode } from '../errors.js'
import { ERROR_CODES_KEYWORD } from '../http/schemas.js'
import { HEADERS, headerRef } from './components.js'
import {
  errorResponse,
  type OperationTraits,
  rateLimitHeaders,
  serverErrorResponse,
} from './error-responses.js'
import { pruneComponentSchemas } from './schemas.js'

// The last step of generating the OpenAPI document (@fastify/swagger's transformObject).
// Routes declare what only they know: schemas, security, their error codes. The rules
// that hold for every route are applied here, once:
// - every operation may answer 500 server_error, and 400 invalid_request: a malformed
//   URL, or a NUL or lone surrogate in any query string (plugins/input-hygiene.ts);
// - every error response carries Cache-Control: no-store (plugins/error-handler.ts);
// - 401 and bearer 403s carry WWW-Authenticate; 429 and 503 carry Retry-After;
// - an operation that declares 429 is rate limited: all its responses carry X-RateLimit-*;
// - 2xx responses on /oauth/* carry Cache-Control: no-store (RFC 6749 §5.1, RFC 7662 §2.2);
// - an operation without `security` is public ([{}]); a bearer requirement is also
//   offered as the oauth2 scheme with the same scopes, which says how to get the token.

type Json = Record<string, unknown>
type Operation = Json & { responses: Record<string, Json>; security?: Array<Record<string, string[]>> }

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']

function operations(document: Json): Array<{ path: string; operation: Operation }> {
  const found: Array<{ path: string; operation: Operation }> = []
  for (const [path, item] of Object.entries((document.paths ?? {}) as Record<string, Json>))
    for (const method of METHODS) if (item[method]) found.push({ path, operation: item[method] as Operation })
  return found
}

function finishSecurity(operation: Operation): boolean {
  if (!operation.security || operation.security.length === 0) {
    operation.security = [{}]
    return false
  }
  const bearer = operation.security.filter((r) => r.bearerAuth)
  for (const requirement of bearer) operation.security.push({ oauth2: requirement.bearerAuth! })
  return bearer.length > 0
}

const INVALID_REQUEST = (codes: ErrorCode[] = []) =>
  codes.includes('invalid_request') ? codes : (['invalid_request', ...codes] as ErrorCode[])

function finishResponses(path: string, operation: Operation, traits: OperationTraits): void {
  const responses = operation.responses
  const json = (schema: Json) => ({ content: { 'application/json': { schema } } })
  const declared400 = (responses['400']?.content as Record<string, { schema?: Json }> | undefined)?.[
    'application/json'
  ]?.schema?.[ERROR_CODES_KEYWORD] as ErrorCode[] | undefined
  responses['400'] = json({ [ERROR_CODES_KEYWORD]: INVALID_REQUEST(declared400) })
  for (const [status, response] of Object.entries(responses)) {
    const content = response.content as Record<string, { schema?: Json }> | undefined
    const codes = content?.['application/json']?.schema?.[ERROR_CODES_KEYWORD] as ErrorCode[] | undefined
    if (codes) {
      responses[status] = errorResponse(Number(status), codes, traits)
      continue
    }
    if (response.description === 'Default Response') response.description = STATUS_CODES[Number(status)]!
    const headers: Json = {}
    if (path.startsWith('/oauth/') && status.startsWith('2')) {
      headers['Cache-Control'] = headerRef('Cache-Control-No-Store')
      headers.Pragma = headerRef('Pragma')
    }
    if (traits.limited) Object.assign(headers, rateLimitHeaders())
    if (Object.keys(headers).length > 0) response.headers = { ...headers, ...(response.headers as Json) }
  }
  responses['500'] = { $ref: '#/components/responses/ServerError' }
}

// Named request examples (`x-examples` in a schema's meta) belong on the media type,
// where tools offer them as choices; @fastify/swagger moves them only for inline schemas.
function moveRequestExamples(operation: Operation, schemas: Record<string, Json>): void {
  const content = (operation.requestBody as Json | undefined)?.content as Record<string, Json> | undefined
  for (const media of Object.values(content ?? {})) {
    const ref = (media.schema as Json | undefined)?.$ref
    const examples = typeof ref === 'string' ? schemas[ref.split('/').pop()!]?.['x-examples'] : undefined
    if (examples) media.examples = examples
  }
}

export function finishDocument(input: Json): Json {
  // A deep copy: shared objects would become YAML anchors and aliases.
  const document = JSON.parse(JSON.stringify(input)) as Json
  const components = (document.components ?? {}) as Json
  const schemas = (components.schemas ?? {}) as Record<string, Json>
  for (const { path, operation } of operations(document)) {
    const bearer = finishSecurity(operation)
    finishResponses(path, operation, { bearer, limited: '429' in operation.responses })
    moveRequestExamples(operation, schemas)
  }
  for (const schema of Object.values(schemas)) delete schema['x-examples']
  document.components = {
    ...components,
    headers: HEADERS,
    responses: { ServerError: serverErrorResponse() },
  }
  pruneComponentSchemas(document)
  // Tags of routes this build does not have (e.g. admin) would be empty sections.
  const used = new Set(operations(document).flatMap(({ operation }) => (operation.tags ?? []) as string[]))
  document.tags = (document.tags as Array<{ name: string }>).filter((tag) => used.has(tag.name))
  const { openapi, info, servers, tags, paths, ...rest } = document
  // The conventional order, so the YAML reads top-down; copied again so the parts
  // added here share no objects either.
  return JSON.parse(JSON.stringify({ openapi, info, servers, tags, paths, ...rest }))
}
