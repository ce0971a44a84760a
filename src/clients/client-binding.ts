import { isRegisteredClientId } from './secrets.js'

/**
 * RFC 7009 §2.1, RFC 7662 §4: a token issued through a registered (confidential) client
 * is that client's business only. Revoking it or reading its details needs that client,
 * authenticated; a token of a public app (such as "badge") may be handled by anyone who
 * holds it. `callerClientId` is the client that authenticated on this request, if any.
 */
export function mayHandleTokenOf(tokenClientId: string, callerClientId: string | undefined): boolean {
  return !isRegisteredClientId(tokenClientId) || tokenClientId === callerClientId
}
