// Every id Badge creates is a crypto.randomUUID(). Anything else cannot name a row, so
// routes answer 404 for it without a query (and PostgreSQL never sees a malformed id).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid(value: string): boolean {
  return UUID.test(value)
}
