import { z } from 'zod'

// WebAuthn's JSON shapes (WebAuthn Level 3 §5.1.8–5.1.10), as much of them as Badge
// checks or documents; @simplewebauthn/server verifies the rest. Loose objects: browsers
// add members (extensions, hints) that must pass through unchanged.

const b64url = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[A-Za-z0-9_-]*$/)

const credentialDescriptor = z.looseObject({
  id: b64url(1400),
  type: z.literal('public-key'),
  transports: z.array(z.string().max(32)).max(10).optional(),
})

export const registrationOptionsSchema = z
  .looseObject({
    challenge: b64url(256).describe('Spent by POST /v1/me/passkeys; lives 5 minutes.'),
    rp: z.looseObject({ id: z.string().max(253).optional(), name: z.string().max(100) }),
    user: z.looseObject({ id: b64url(256), name: z.string().max(320), displayName: z.string().max(320) }),
    pubKeyCredParams: z
      .array(z.looseObject({ type: z.literal('public-key'), alg: z.int().meta({ format: 'int32' }) }))
      .max(20),
    timeout: z.int().min(0).meta({ format: 'int32' }).optional(),
    excludeCredentials: z.array(credentialDescriptor).max(1000).optional(),
    authenticatorSelection: z.looseObject({}).optional(),
    attestation: z.string().max(32).optional(),
  })
  .meta({
    id: 'PasskeyRegistrationOptions',
    description:
      'PublicKeyCredentialCreationOptionsJSON: give to PublicKeyCredential.parseCreationOptionsFromJSON() and navigator.credentials.create().',
  })

export const authenticationOptionsSchema = z
  .looseObject({
    challenge: b64url(256),
    rpId: z.string().max(253).optional(),
    timeout: z.int().min(0).meta({ format: 'int32' }).optional(),
    allowCredentials: z.array(credentialDescriptor).max(1000).optional(),
    userVerification: z.string().max(32).optional(),
  })
  .meta({
    id: 'PasskeyAuthenticationOptions',
    description:
      'PublicKeyCredentialRequestOptionsJSON: give to PublicKeyCredential.parseRequestOptionsFromJSON() and navigator.credentials.get().',
  })

export const registrationResponseSchema = z
  .looseObject({
    id: b64url(1400),
    rawId: b64url(1400),
    type: z.literal('public-key'),
    response: z.looseObject({
      clientDataJSON: b64url(65_536),
      attestationObject: b64url(65_536),
      transports: z.array(z.string().max(32)).max(10).optional(),
    }),
    clientExtensionResults: z.looseObject({}).default({}),
    authenticatorAttachment: z.string().max(32).optional(),
  })
  .meta({
    id: 'PasskeyRegistrationResponse',
    description: "RegistrationResponseJSON: the new credential's PublicKeyCredential.toJSON().",
  })

export const passkeySchema = z
  .object({
    id: z.uuid().max(36),
    name: z.string().max(100),
    created_at: z.iso.datetime().max(32),
    last_used_at: z.iso.datetime().max(32).nullable().describe('The last login with it; null if never used.'),
  })
  .meta({
    id: 'Passkey',
    examples: [
      {
        id: '0b6f2a52-54e4-4bd4-8a8f-4f5d5ff0a1c3',
        name: 'Laptop',
        created_at: '2026-01-02T10:00:00.000Z',
        last_used_at: null,
      },
    ],
  })

export const passkeyNameSchema = z.string().max(100).describe('A label of your choice (default "Passkey").')
