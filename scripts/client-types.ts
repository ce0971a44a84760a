import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript'

// TypeScript types for openapi-fetch, generated from openapi.yaml by openapi-typescript,
// exactly as a Badge user would: `npx openapi-typescript openapi.yaml -o badge-api.d.ts`.
// The committed copy (test/clients/generated/) types the generated-client test.

export const CLIENT_TYPES_FILE = new URL('../test/clients/generated/badge-api.d.ts', import.meta.url)

export async function generateClientTypes(openapiYaml: string): Promise<string> {
  return COMMENT_HEADER + astToString(await openapiTS(openapiYaml))
}
