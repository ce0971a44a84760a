import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import ajvFormats from 'ajv-formats'

// Checks a response against the OpenAPI document: the status must be documented for
// the operation, the body must match that response's schema (unknown fields fail:
// response objects are additionalProperties: false), and every required header must
// be present and every documented one valid. buildTestApp runs it on every response
// the suite receives; the generated-client test runs it on a live server's responses.

type Json = Record<string, unknown>

export interface ObservedResponse {
  method: string
  /** The OpenAPI path template, e.g. /v1/me/sessions/{id}; undefined for unknown routes. */
  path: string | undefined
  status: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
}

// CJS interop: the plugin is the module itself at run time, `.default` in its types.
const addFormats = ((ajvFormats as unknown as { default?: typeof ajvFormats }).default ??
  ajvFormats) as unknown as (ajv: Ajv2020) => void

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')

export class OpenApiValidator {
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true })
  readonly #compiled = new Map<string, ValidateFunction>()

  constructor(readonly document: Json) {
    addFormats(this.#ajv)
    this.#ajv.addSchema(document, 'openapi')
  }

  /** The path template that matches a concrete URL path, if any. */
  templateFor(urlPath: string): string | undefined {
    return Object.keys(this.document.paths as Json).find((template) =>
      new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`).test(urlPath),
    )
  }

  #resolve(node: unknown): Json {
    let current = node as Json
    while (typeof current?.$ref === 'string') {
      const parts = (current.$ref as string).slice(2).split('/')
      current = parts.reduce<unknown>((n, p) => (n as Json)[p.replaceAll('~1', '/')], this.document) as Json
    }
    return current
  }

  #validator(ref: string): ValidateFunction {
    let validate = this.#compiled.get(ref)
    if (!validate) {
      validate = this.#ajv.compile({ $ref: `openapi#${ref}` })
      this.#compiled.set(ref, validate)
    }
    return validate
  }

  #check(ref: string, value: unknown, what: string): string[] {
    const validate = this.#validator(ref)
    if (validate(value)) return []
    return (validate.errors ?? []).map(
      (e) => `${what}${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`,
    )
  }

  /** Whether `value` matches `schema`, a schema taken from the document (its $refs point into it). */
  matches(schema: unknown, value: unknown): boolean {
    const rooted = JSON.parse(JSON.stringify(schema), (key, v) =>
      key === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `openapi${v}` : v,
    )
    return this.#ajv.validate(rooted, value) as boolean
  }

  /** Problems with this response; empty when it matches the document. */
  validate(response: ObservedResponse): string[] {
    const method = response.method.toLowerCase()
    const operation = response.path
      ? ((this.document.paths as Record<string, Json>)[response.path]?.[method] as Json | undefined)
      : undefined
    if (!operation) {
      // Unknown routes answer 404 with the shared error body.
      if (response.status < 400 || response.body === '') return []
      return this.#check('/components/schemas/Error', JSON.parse(response.body), 'body')
    }
    const responses = operation.responses as Json
    const key = [String(response.status), `${String(response.status)[0]}XX`, 'default'].find(
      (k) => k in responses,
    )
    if (!key) return [`status ${response.status} is not documented`]
    const base = `/paths/${pointer(response.path!)}/${method}/responses/${key}`
    const documented = this.#resolve(responses[key])
    const problems: string[] = []
    for (const [name, declared] of Object.entries((documented.headers ?? {}) as Json)) {
      const header = this.#resolve(declared)
      const value = response.headers[name.toLowerCase()]
      if (value === undefined) {
        if (header.required) problems.push(`header ${name} is required`)
        continue
      }
      const schema = header.schema as Json
      const typed = schema.type === 'integer' ? Number(value) : String(value)
      const valid = this.#ajv.validate(schema, typed)
      if (!valid) problems.push(`header ${name}: ${JSON.stringify(value)} ${this.#ajv.errorsText()}`)
    }
    const content = documented.content as Record<string, Json> | undefined
    if (!content) {
      if (response.body !== '') problems.push(`body must be empty, got ${response.body.slice(0, 200)}`)
      return problems
    }
    const type = String(response.headers['content-type'] ?? '').split(';')[0]!
    if (!(type in content)) return [...problems, `content type ${type} is not documented`]
    // Shared responses ($ref) have their schema under components.
    const schemaRef =
      typeof (responses[key] as Json).$ref === 'string'
        ? `${((responses[key] as Json).$ref as string).slice(1)}/content/${pointer(type)}/schema`
        : `${base}/content/${pointer(type)}/schema`
    return [...problems, ...this.#check(schemaRef, JSON.parse(response.body), 'body')]
  }
}

const validators = new Map<string, OpenApiValidator>()

/** One validator per distinct document: compiled schemas are shared by every app that serves it. */
export function validatorFor(document: Json): OpenApiValidator {
  const key = JSON.stringify(document)
  let validator = validators.get(key)
  if (!validator) {
    validator = new OpenApiValidator(document)
    validators.set(key, validator)
  }
  return validator
}
