#!/usr/bin/env node
import { existsSync } from 'node:fs'
import { runCli } from './cli/main.js'

// `badge …` (bin) and `npm run cli -- …`: like server.ts, the only place that touches
// the process. Reads .env when present, then the environment, exactly as the server does.

if (existsSync('.env')) process.loadEnvFile('.env')

async function readStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  // One trailing newline is the shell's (echo, heredoc), not part of the secret.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '')
}

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  readStdin,
})
