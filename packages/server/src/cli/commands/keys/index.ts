import { defineCommand } from '../../command.js'

export default defineCommand({
  name: 'keys',
  summary: 'List and rotate the signing keys (next, current, retired).',
  subCommands: {
    list: () => import('./list.js').then((m) => m.default),
    rotate: () => import('./rotate.js').then((m) => m.default),
  },
})
