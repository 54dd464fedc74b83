import { defineCommand } from '../../command.js'

export default defineCommand({
  name: 'account',
  summary: 'Create and manage accounts: passwords, status, allowed IPs, roles, token revocation, lockouts, import and export.',
  subCommands: {
    create: () => import('./create.js').then((m) => m.default),
    list: () => import('./list.js').then((m) => m.default),
    show: () => import('./show.js').then((m) => m.default),
    'set-password': () => import('./set-password.js').then((m) => m.default),
    suspend: () => import('./suspend.js').then((m) => m.default),
    resume: () => import('./resume.js').then((m) => m.default),
    'allow-ip': () => import('./allow-ip.js').then((m) => m.default),
    'deny-ip': () => import('./deny-ip.js').then((m) => m.default),
    delete: () => import('./delete.js').then((m) => m.default),
    grant: () => import('./grant.js').then((m) => m.default),
    'revoke-role': () => import('./revoke-role.js').then((m) => m.default),
    'revoke-tokens': () => import('./revoke-tokens.js').then((m) => m.default),
    unlock: () => import('./unlock.js').then((m) => m.default),
    'drop-previous-password': () => import('./drop-previous-password.js').then((m) => m.default),
    import: () => import('./import.js').then((m) => m.default),
    export: () => import('./export.js').then((m) => m.default),
  },
})
