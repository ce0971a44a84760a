import { readFileSync } from 'node:fs'

// package.json is the one source of Badge's version: the OpenAPI document (and so /docs)
// shows it. Read at run time rather than imported, so the build's rootDir stays src/;
// src/openapi/ and dist/openapi/ are both two levels below the package root.
export const BADGE_VERSION: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version
