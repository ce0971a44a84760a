// Component schemas: fastify-type-provider-zod emits every schema registered with an
// id twice, `X` (as responses see it) and `XInput` (as requests see it), for every id
// in zod's global registry. The document keeps only what its operations reference,
// under the plain name unless both directions are really used.

type Json = Record<string, unknown>

const PREFIX = '#/components/schemas/'

function collectRefs(node: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const item of node) collectRefs(item, into)
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(PREFIX))
        into.add(value.slice(PREFIX.length))
      else collectRefs(value, into)
    }
  }
  return into
}

function rewriteRefs(node: unknown, rename: Map<string, string>): void {
  if (Array.isArray(node)) for (const item of node) rewriteRefs(item, rename)
  else if (node && typeof node === 'object') {
    const object = node as Json
    for (const [key, value] of Object.entries(object)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(PREFIX)) {
        const target = rename.get(value.slice(PREFIX.length))
        if (target) object[key] = PREFIX + target
      } else rewriteRefs(value, rename)
    }
  }
}

/** Keeps the referenced schemas (transitively), renamed from `XInput` to `X` where unambiguous. */
export function pruneComponentSchemas(document: Json): void {
  const components = document.components as Json
  const schemas = (components.schemas ?? {}) as Record<string, unknown>
  // Shared responses (the 500) reference schemas too.
  const used = collectRefs([document.paths, components.responses], new Set())
  for (const name of used) collectRefs(schemas[name], used) // the Set iterates what is added too
  const rename = new Map<string, string>()
  for (const name of used) {
    const base = name.endsWith('Input') ? name.slice(0, -'Input'.length) : undefined
    if (base && !used.has(base)) rename.set(name, base)
  }
  rewriteRefs(document.paths, rename)
  const kept: Record<string, unknown> = {}
  for (const name of [...used].sort((a, b) => (rename.get(a) ?? a).localeCompare(rename.get(b) ?? b))) {
    const schema = schemas[name]
    if (schema === undefined) throw new Error(`OpenAPI: $ref to unknown schema "${name}"`)
    rewriteRefs(schema, rename)
    kept[rename.get(name) ?? name] = schema
  }
  components.schemas = kept
}
