import { isUuid } from '../db/ids.js'
import { invalidRequest } from '../errors.js'

// Opaque pagination cursors: base64url of a versioned JSON position. Clients must treat
// them as opaque; the server can change what is inside (the version says what it is).

export interface Position {
  createdAt: number
  id: string
}

const VERSION = 1

export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([VERSION, position.createdAt, position.id]), 'utf8').toString('base64url')
}

/** The position a cursor names; 400 invalid_request for anything this server did not hand out. */
export function decodeCursor(cursor: string): Position {
  const malformed = () => invalidRequest('cursor is malformed: pass back next_cursor exactly as received.')
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw malformed()
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw malformed()
  }
  if (
    !Array.isArray(value) ||
    value.length !== 3 ||
    value[0] !== VERSION ||
    !Number.isSafeInteger(value[1]) ||
    typeof value[2] !== 'string' ||
    // Decoded values get the hygiene of any input: ids are UUIDs (a NUL would reach
    // PostgreSQL, which cannot hold one in text, as a 500).
    !isUuid(value[2])
  )
    throw malformed()
  return { createdAt: value[1] as number, id: value[2] }
}
