import { rejectProof } from './proof-error.js'

/**
 * RFC 9449 §4.3 (check 9): `htu` is compared with the request's URI without its query and
 * fragment, after syntax-based and scheme-based normalization (RFC 3986 §6.2.2, §6.2.3).
 * WHATWG URL parsing does both: it lower-cases scheme and host, drops the default port,
 * resolves dot segments and upper-cases percent-encodings. Returns undefined for a value
 * that is not an absolute http(s) URI.
 */
export function normalizeHtu(value: string): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined
  url.search = ''
  url.hash = ''
  url.username = ''
  url.password = ''
  return url.href
}

/** The proof's `htu` names `expected` (already normalized). */
export function checkHtu(htu: unknown, expected: string): void {
  if (typeof htu !== 'string' || normalizeHtu(htu) !== expected)
    rejectProof('The DPoP proof htu does not match the request URI.')
}
