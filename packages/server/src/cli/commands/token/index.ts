import { defineCommand } from '../../command.js'

export default defineCommand({
  name: 'token',
  summary: 'Revoke single access tokens.',
  subCommands: {
    revoke: () => import('./revoke.js').then((m) => m.default),
  },
})
