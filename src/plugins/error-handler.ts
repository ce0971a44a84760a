import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { isDatabaseUnavailable } from '../db/errors.js'
import { BadgeError, type ErrorCode } from '../errors.js'
import { BearerError } from '../verify/bearer-error.js'
import { sendError as send } from '../verify/send-error.js'

// The one place errors become HTTP (docs/contract.md §5): always {error, error_description},
// never a stack trace, SQL, driver message or internal path. 5xx bodies are generic;
// the full error goes to the log with the request id.

export interface ErrorBody {
  error: ErrorCode
  error_description: string
}

function describeValidation(error: FastifyError): string {
  const first = error.validation?.[0] as { instancePath?: string; message?: string } | undefined
  const where = `${error.validationContext ?? 'request'}${(first?.instancePath ?? '').replaceAll('/', '.')}`
  const message = (first?.message ?? 'is invalid').replace(/[\r\n"]/g, ' ').slice(0, 200)
  return `${where}: ${message}`
}

/** Fastify's own client errors, by code. */
const FASTIFY_CLIENT_ERRORS: Record<string, [number, ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload_too_large', 'The request body is larger than 64 KiB.'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type', 'This content type is not supported here.'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [
    400,
    'invalid_request',
    'The Content-Length header does not match the body.',
  ],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalid_request', 'The JSON body is empty.'],
  // Also raised for __proto__ and constructor.prototype keys, refused as prototype poisoning.
  FST_ERR_CTP_INVALID_JSON_BODY: [
    400,
    'invalid_request',
    'The body is not valid JSON, or it has a __proto__ or constructor.prototype key.',
  ],
  FST_ERR_CTP_MALFORMED_BODY: [400, 'invalid_request', 'The body could not be parsed.'],
  FST_ERR_BAD_URL: [400, 'invalid_request', 'The URL is malformed.'],
}

function handleError(
  this: FastifyInstance,
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error instanceof BadgeError || error instanceof BearerError) {
    if (error.statusCode >= 500) request.log.warn({ err: error }, error.description)
    const extra = error instanceof BadgeError ? error.body : undefined
    return send(reply, error.statusCode, error.code, error.description, error.headers, extra)
  }
  if (hasZodFastifySchemaValidationErrors(error) || error.validation) {
    return send(reply, 400, 'invalid_request', describeValidation(error))
  }
  const known = error.code ? FASTIFY_CLIENT_ERRORS[error.code] : undefined
  if (known) return send(reply, known[0], known[1], known[2])
  if (error.statusCode === 429) {
    // docs/contract.md §5: a 429 always says when to come back.
    const retryAfter = reply.getHeader('retry-after') ?? '60'
    return send(reply, 429, 'too_many_requests', 'Too many requests; retry after the time in Retry-After.', {
      'retry-after': String(retryAfter),
    })
  }
  if (isDatabaseUnavailable(error)) {
    request.log.warn({ err: error }, 'database unavailable')
    return send(reply, 503, 'temporarily_unavailable', 'The database is unavailable; retry shortly.', {
      'retry-after': '5',
    })
  }
  // JSON.parse failures from body parsers and other client errors fastify flags as 4xx.
  if (
    error instanceof SyntaxError ||
    (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)
  ) {
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 400
    const code: ErrorCode =
      status === 404 ? 'not_found' : status === 405 ? 'method_not_allowed' : 'invalid_request'
    return send(
      reply,
      status,
      code,
      status === 400 ? 'The request is malformed.' : 'The request was refused.',
    )
  }
  request.log.error({ err: error }, 'unhandled error')
  return send(reply, 500, 'server_error', 'An internal error occurred.')
}

/**
 * Fastify's `frameworkErrors`: router failures that happen before a route exists
 * (an undecodable URL, an over-long path parameter). Without it Fastify answers in
 * its own shape, with its internal error code.
 */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  const description =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path segment is too long.' : 'The URL is malformed.'
  return send(reply, 400, 'invalid_request', description)
}

async function errorHandler(app: FastifyInstance) {
  app.setErrorHandler(handleError)
  app.setNotFoundHandler((request, reply) =>
    send(
      reply,
      404,
      'not_found',
      `No route for ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}.`,
    ),
  )
}

export const errorHandlerPlugin = fp(errorHandler, { name: 'badge-error-handler', fastify: '5.x' })
