import { rejectProof } from './proof-error.js'

/** RFC 9449 §4.3 (check 8): `htm` is the request's method, exactly (methods are case-sensitive). */
export function checkHtm(htm: unknown, method: string): void {
  if (htm !== method) rejectProof('The DPoP proof htm does not match the request method.')
}
