#!/usr/bin/env node
// The `bizauth-token` command; see src/cli.ts (compiled to dist/src/cli.js by `tsc -b`).
import { runTokenCommand } from '../dist/src/cli.js'

process.exitCode = await runTokenCommand(process.argv.slice(2), process)
