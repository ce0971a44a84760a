import type { SigningKeyRow } from '../db/schema.js'
import type { KeyStatus } from './repository.js'

/** What operators see of a signing key (GET /v1/admin/keys, `badge keys list`): never private material. */
export interface KeyInfo {
  kid: string
  alg: string
  status: KeyStatus
  created_at: string
  activated_at: string | null
  retiring_at: string | null
  retired_at: string | null
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

export function toKeyInfo(row: SigningKeyRow): KeyInfo {
  return {
    kid: row.kid,
    alg: row.alg,
    status: row.status,
    created_at: new Date(row.created_at).toISOString(),
    activated_at: iso(row.activated_at),
    retiring_at: iso(row.retiring_at),
    retired_at: iso(row.retired_at),
  }
}
