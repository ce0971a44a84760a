import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { helmetHeaders } from '../http/security-headers.js'

// GET /docs: interactive documentation (Swagger UI) served entirely from this server,
// so it works offline and behind firewalls. Only these routes get a Content Security
// Policy that allows scripts, styles and images; every other response keeps the API's
// policy, which allows nothing (an API answer is never a page to render).

export const API_CSP_DIRECTIVES = {
  defaultSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
}

export const DOCS_CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
}

export async function docsRoutes(app: FastifyInstance) {
  // Encapsulated: applies to the routes registered below (the UI and its static files) only,
  // and runs after the app-wide hook that set the API's policy (http/security-headers.ts).
  const csp = helmetHeaders({
    contentSecurityPolicy: { useDefaults: false, directives: DOCS_CSP_DIRECTIVES },
  })['content-security-policy']!
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('content-security-policy', csp)
    done()
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    theme: { title: 'Badge API' },
    // BaseLayout: no top bar (Swagger's logo and a box to load other documents).
    uiConfig: {
      layout: 'BaseLayout',
      deepLinking: true,
      displayOperationId: true,
      defaultModelsExpandDepth: 1,
    },
    validatorUrl: false,
  })
}
