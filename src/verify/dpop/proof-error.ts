// RFC 9449 §7.1 / §8: why a DPoP proof was refused. `use_dpop_nonce` asks the client to
// retry with the nonce sent in the DPoP-Nonce header; every other refusal is
// `invalid_dpop_proof`. Descriptions are safe to show the client.

export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce'

export class DpopProofRejected extends Error {
  override name = 'DpopProofRejected'
  constructor(
    readonly code: DpopErrorCode,
    description: string,
    /** The nonce to retry with (use_dpop_nonce, or any refusal while nonces are on). */
    readonly nonce?: string,
  ) {
    super(description)
  }
}

export function rejectProof(description: string): never {
  throw new DpopProofRejected('invalid_dpop_proof', description)
}
