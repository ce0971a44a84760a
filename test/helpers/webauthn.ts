import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { bearer } from './flows.js'

// A software WebAuthn authenticator (WebAuthn Level 3 §6): an ES256 key made with
// node:crypto, "none" attestation, authenticator data and clientDataJSON built by hand, so
// HTTP tests drive registration and login exactly as a browser would.

export const PASSKEY_GRANT = 'urn:badge:grant-type:passkey'

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url')

/** The little CBOR (RFC 8949) these structures need: unsigned/negative ints, strings, maps. */
function cborHead(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n])
  if (n < 256) return Buffer.from([(major << 5) | 24, n])
  return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff])
}
type Cbor = number | string | Uint8Array | Map<Cbor, Cbor>
function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value)
  if (typeof value === 'string')
    return Buffer.concat([cborHead(3, Buffer.byteLength(value)), Buffer.from(value)])
  if (value instanceof Uint8Array) return Buffer.concat([cborHead(2, value.length), value])
  return Buffer.concat([cborHead(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])])
}

export interface AuthenticatorOptions {
  origin: string
  rpId: string
  /** Backup eligible (a synced passkey, "swk"); default false (device-bound, "hwk"). */
  backupEligible?: boolean
  /** The authenticator verifies the user (PIN, biometric); default true. */
  userVerified?: boolean
}

export interface BackupFlags {
  /** The BE flag; default: the authenticator's `backupEligible`. */
  backupEligible?: boolean
  /** The BS flag; default: the BE flag. */
  backedUp?: boolean
}

/** What one assertion may do differently from the authenticator's usual. */
export interface AssertionOverride extends BackupFlags {
  origin?: string
  counter?: number
}

export class SoftwareAuthenticator {
  readonly credentialId = randomBytes(16)
  private readonly privateKey: KeyObject
  private readonly cosePublicKey: Buffer
  counter = 0
  userHandle = ''

  constructor(readonly opts: AuthenticatorOptions) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    this.privateKey = privateKey
    const jwk = publicKey.export({ format: 'jwk' })
    // RFC 9053: kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
    this.cosePublicKey = cbor(
      new Map<Cbor, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    )
  }

  get id(): string {
    return b64url(this.credentialId)
  }

  /**
   * Backup flags (WebAuthn §6.1): BE 0x08, BS 0x10. By default both follow `backupEligible`;
   * an assertion may override them to play an authenticator that changed its story.
   */
  private authData(
    counter: number,
    attested: boolean,
    backup: BackupFlags = {},
    rpId = this.opts.rpId,
  ): Buffer {
    const eligible = backup.backupEligible ?? this.opts.backupEligible ?? false
    const backedUp = backup.backedUp ?? eligible
    const flagged = (eligible ? 0x08 : 0) | (backedUp ? 0x10 : 0)
    const flags = 0x01 | (this.opts.userVerified === false ? 0 : 0x04) | flagged | (attested ? 0x40 : 0)
    const count = Buffer.alloc(4)
    count.writeUInt32BE(counter)
    const head = Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.from([flags]), count])
    if (!attested) return head
    const idLength = Buffer.alloc(2)
    idLength.writeUInt16BE(this.credentialId.length)
    return Buffer.concat([head, Buffer.alloc(16), idLength, this.credentialId, this.cosePublicKey])
  }

  private clientData(type: string, challenge: string, origin = this.opts.origin): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }))
  }

  /** navigator.credentials.create() for `options` (PublicKeyCredentialCreationOptionsJSON). */
  create(options: { challenge: string; user: { id: string } }, override: { origin?: string } = {}) {
    this.userHandle = options.user.id
    const attestationObject = cbor(
      new Map<Cbor, Cbor>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', this.authData(this.counter, true)],
      ]),
    )
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(this.clientData('webauthn.create', options.challenge, override.origin)),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    }
  }

  /**
   * navigator.credentials.get() for `options`; the counter grows by one unless `counter` is
   * given, and the backup flags are the registration's unless overridden.
   */
  get(options: { challenge: string }, override: AssertionOverride = {}) {
    const counter = override.counter ?? ++this.counter
    const authenticatorData = this.authData(counter, false, override)
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, override.origin)
    const signed = Buffer.concat([authenticatorData, createHash('sha256').update(clientDataJSON).digest()])
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authenticatorData),
        signature: b64url(sign('sha256', signed, this.privateKey)),
        userHandle: this.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    }
  }
}

/** Registers `authenticator` for the holder of `accessToken` over HTTP; returns the 201 response. */
export async function registerPasskey(
  app: FastifyInstance,
  accessToken: string,
  authenticator: SoftwareAuthenticator,
  name?: string,
) {
  const options = await app.inject({
    method: 'POST',
    url: '/v1/me/passkeys/options',
    headers: bearer(accessToken),
  })
  if (options.statusCode !== 200) throw new Error(`options failed: ${options.statusCode} ${options.body}`)
  return app.inject({
    method: 'POST',
    url: '/v1/me/passkeys',
    headers: bearer(accessToken),
    payload: { response: authenticator.create(options.json()), ...(name === undefined ? {} : { name }) },
  })
}

export async function passkeyLoginOptions(app: FastifyInstance) {
  const res = await app.inject({ method: 'POST', url: '/oauth/passkey/options' })
  if (res.statusCode !== 200) throw new Error(`login options failed: ${res.statusCode} ${res.body}`)
  return res.json() as { options: { challenge: string; rpId: string }; passkey_session: string }
}

export async function passkeyGrant(app: FastifyInstance, fields: Record<string, string>) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: PASSKEY_GRANT, ...fields }).toString(),
  })
}

/** A whole passkey login: options, assertion, grant. */
export async function loginWithPasskey(
  app: FastifyInstance,
  authenticator: SoftwareAuthenticator,
  override: AssertionOverride = {},
) {
  const { options, passkey_session } = await passkeyLoginOptions(app)
  return passkeyGrant(app, {
    passkey_session,
    credential: JSON.stringify(authenticator.get(options, override)),
  })
}
