import type { FastifyInstance } from 'fastify'
import { helmetHeaders } from '../http/security-headers.js'
import { PAGES_CSS, PAGES_JS, RESET_PASSWORD_HTML, VERIFY_EMAIL_HTML } from './page-assets.js'

// GET /account/verify-email and GET /account/reset-password: Badge's own pages behind the
// default links (EMAIL_VERIFY_URL, PASSWORD_RESET_URL), so the flows work before an
// operator has built screens. Static, same-origin only: the CSP allows this origin's
// script, style and fetch and nothing else (no inline code, no third-party assets, no
// framing). The token stays in the fragment, which never reaches a server or a Referer.

export const ACCOUNT_PAGES_CSP_DIRECTIVES = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  connectSrc: ["'self'"],
  formAction: ["'none'"],
  baseUri: ["'none'"],
  frameAncestors: ["'none'"],
}

const ASSETS: Record<string, { type: string; body: string }> = {
  '/account/verify-email': { type: 'text/html; charset=utf-8', body: VERIFY_EMAIL_HTML },
  '/account/reset-password': { type: 'text/html; charset=utf-8', body: RESET_PASSWORD_HTML },
  '/account/pages.css': { type: 'text/css; charset=utf-8', body: PAGES_CSS },
  '/account/pages.js': { type: 'text/javascript; charset=utf-8', body: PAGES_JS },
}

export async function accountPageRoutes(app: FastifyInstance) {
  // Encapsulated: only these routes get this policy; it replaces the API's (http/security-headers.ts).
  const csp = helmetHeaders({
    contentSecurityPolicy: { useDefaults: false, directives: ACCOUNT_PAGES_CSP_DIRECTIVES },
  })['content-security-policy']!
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('content-security-policy', csp)
    done()
  })
  for (const [url, { type, body }] of Object.entries(ASSETS)) {
    app.get(url, { schema: { hide: true } }, async (_request, reply) =>
      reply.header('content-type', type).header('cache-control', 'no-cache').send(body),
    )
  }
}
