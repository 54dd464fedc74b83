import { defineCommand } from '../../command.js'

export default defineCommand({
  name: 'audit',
  summary: 'Read, export, verify and prune the tamper-evident audit trail of every change.',
  subCommands: {
    list: () => import('./list.js').then((m) => m.default),
    export: () => import('./export.js').then((m) => m.default),
    verify: () => import('./verify.js').then((m) => m.default),
    prune: () => import('./prune.js').then((m) => m.default),
  },
})
