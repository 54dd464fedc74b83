#!/usr/bin/env node
// The `bizauth` command. The code is TypeScript compiled to dist/ (`npm ci` runs `tsc -b`).
// This is the one place that ends the process: main() resolves to the exit code.
import { main } from '../dist/src/cli/main.js'

const code = await main(process.argv.slice(2))
process.exit(code)
