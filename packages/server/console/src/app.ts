/**
 * The bizauth console (issue 10 §4): sign in, accounts, keys, audit, overview. Plain DOM and the admin
 * API; every control has an accessible name (a label or its text). Viewers see no edit controls.
 */
import { RequestFailed, api, forget, signIn, signedIn, whenExpired } from './api.js'
import { append, h, replace, svg } from './dom.js'
import { toggleLanguage, words } from './i18n.js'

interface Account {
  id: string
  status: 'active' | 'suspended'
  allowed_ips: string[]
  roles: string[]
  created_at: string
  updated_at: string
}
interface Key {
  kid: string
  alg: string
  state: 'next' | 'current' | 'retired'
  createdAt: string
  activatedAt: string | null
  promotesAt: string | null
  removedAfter: string | null
}
/** As GET /admin/v1/audit answers it (the fields of `bizauth audit list --json`). */
interface AuditEvent {
  seq: number
  time: string
  actor: { type: string; id: string }
  source: string
  action: string
  target: string
  changes: Record<string, [unknown, unknown]>
}
interface Stats {
  minutes: Array<{ start: string; issued: number; refused: Record<string, number> }>
  credential_cache: { lookups: number; hits: number; hit_ratio: number | null; entries: number }
  hash_queue: { running: number; waiting: number; max_waiting: number }
  current_key: { kid: string; age_seconds: number } | null
}

const IDLE_MS = 15 * 60 * 1000
const REFRESH_MS = 5000
const ROLES = ['admin', 'viewer', 'introspect']
const AUDIT_PAGE = 20
type View = 'accounts' | 'keys' | 'audit' | 'overview'

const root = document.getElementById('app')!
let me: Account | undefined
let view: View = 'accounts'
let query = ''
let cursors: string[] = []
let auditFilter = { account: '', action: '' }
/** The `cursor` of each page shown so far: the last is the current page's, popping goes back. */
let auditCursors: string[] = []
let notice = ''
let idleTimer: number | undefined
let refreshTimer: number | undefined

const canEdit = (): boolean => me?.roles.includes('admin') === true
const messageOf = (error: unknown): string => (error instanceof RequestFailed ? `${error.answer.code}: ${error.answer.description}` : String(error))

function signOut(message = ''): void {
  forget()
  me = undefined
  view = 'accounts'
  query = ''
  cursors = []
  auditFilter = { account: '', action: '' }
  auditCursors = []
  notice = message
  window.clearTimeout(idleTimer)
  window.clearInterval(refreshTimer)
  render()
}

function touched(): void {
  if (!signedIn()) return
  window.clearTimeout(idleTimer)
  idleTimer = window.setTimeout(() => signOut(words().idleSignedOut), IDLE_MS)
}
for (const event of ['pointerdown', 'keydown']) document.addEventListener(event, touched, { capture: true })
whenExpired(() => signOut())

/** A CIDR or address as the server accepts it (the server has the last word and says why). */
export function looksLikeCidr(text: string): boolean {
  const [address, prefix, extra] = text.split('/')
  if (extra !== undefined || !address) return false
  const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(address)
  const ipv6 = !ipv4 && address.includes(':') && /^[0-9a-fA-F:.]+$/.test(address) && (address.match(/::/g) ?? []).length <= 1
  if (!ipv4 && !ipv6) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (ipv4 ? 32 : 128)
}

const ipList = (text: string): string[] => text.split(/[\s,]+/).filter((item) => item !== '')

/** A textarea of allowed IPs that marks itself invalid as the operator types. */
function ipField(id: string, label: string, value: string): { field: HTMLElement; input: HTMLTextAreaElement; valid: () => boolean } {
  const problem = h('span', { id: `${id}-problem`, class: 'error', role: 'status' })
  const input = h('textarea', { id, 'aria-describedby': `${id}-hint ${id}-problem` })
  input.value = value
  const valid = (): boolean => {
    const bad = ipList(input.value).filter((item) => !looksLikeCidr(item))
    input.setAttribute('aria-invalid', String(bad.length > 0))
    problem.textContent = bad.length > 0 ? `${words().invalidCidr}: ${bad.join(', ')}` : ''
    return bad.length === 0
  }
  input.addEventListener('input', valid)
  const field = h('div', {}, h('label', { for: id }, label), input, h('div', { id: `${id}-hint`, class: 'hint' }, words().allowedIpsHint), problem)
  return { field, input, valid }
}

function roleBoxes(prefix: string, selected: string[]): { field: HTMLElement; value: () => string[] } {
  const boxes = ROLES.map((role) => {
    const box = h('input', { type: 'checkbox', id: `${prefix}-${role}`, checked: selected.includes(role) })
    return { role, box, label: h('label', { for: `${prefix}-${role}` }, box, ` ${role}`) }
  })
  const field = h('fieldset', {}, h('legend', {}, words().roles), ...boxes.map((entry) => entry.label))
  return { field, value: () => boxes.filter((entry) => entry.box.checked).map((entry) => entry.role) }
}

function secretBox(password: string): HTMLElement {
  const copy = h('button', { type: 'button' }, words().copy)
  copy.addEventListener('click', () => {
    void navigator.clipboard?.writeText(password).then(() => (copy.textContent = words().copied), () => undefined)
  })
  return h('div', { role: 'region', 'aria-label': words().generatedPassword }, h('div', {}, words().generatedPassword), h('output', { class: 'secret', 'aria-label': words().generatedPassword }, password), ' ', copy)
}

// --- sign in -------------------------------------------------------------------------------

function renderSignIn(): HTMLElement {
  const w = words()
  const account = h('input', { type: 'text', id: 'signin-account', autocomplete: 'username', required: true })
  const password = h('input', { type: 'password', id: 'signin-password', autocomplete: 'current-password', required: true })
  const problem = h('p', { class: 'error', role: 'alert' }, notice)
  const form = h(
    'form',
    { 'aria-label': w.signIn },
    h('label', { for: 'signin-account' }, w.account),
    account,
    h('label', { for: 'signin-password' }, w.password),
    password,
    h('button', { type: 'submit', class: 'primary' }, w.signIn),
    problem,
  )
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void (async () => {
      try {
        await signIn(account.value, password.value)
        password.value = ''
        me = (await api<Account>('GET', `/admin/v1/accounts/${encodeURIComponent(account.value)}`)).body
        notice = ''
        touched()
        render()
      } catch (error) {
        forget()
        problem.textContent = error instanceof RequestFailed && error.answer.status === 403 ? w.noRole : `${w.signInFailed} (${messageOf(error)})`
      }
    })()
  })
  return h('main', {}, h('section', { class: 'card' }, h('h2', {}, w.title), form))
}

// --- accounts ------------------------------------------------------------------------------

async function renderAccounts(target: HTMLElement): Promise<void> {
  const w = words()
  const search = h('input', { type: 'search', id: 'account-search', value: query })
  const list = h('div', {})
  const detail = h('div', {})
  const creating = h('div', {})
  const searchForm = h('form', { role: 'search', 'aria-label': w.searchPrefix }, h('label', { for: 'account-search' }, w.searchPrefix), search, h('button', { type: 'submit' }, w.search))
  searchForm.addEventListener('submit', (event) => {
    event.preventDefault()
    query = search.value.trim()
    cursors = []
    void load()
  })
  const createButton = canEdit() ? h('button', { type: 'button', class: 'primary' }, w.createAccount) : undefined
  createButton?.addEventListener('click', () => replace(creating, createForm(creating, load)))
  replace(target, h('section', { class: 'card' }, h('h2', {}, w.accounts), searchForm, createButton, creating), h('section', { class: 'card' }, list), detail)

  async function load(): Promise<void> {
    const params = new URLSearchParams({ limit: '20' })
    if (query) params.set('q', query)
    const cursor = cursors[cursors.length - 1]
    if (cursor) params.set('cursor', cursor)
    try {
      const { body } = await api<{ accounts: Account[]; next_cursor: string | null }>('GET', `/admin/v1/accounts?${params}`)
      const rows = body.accounts.map((account) => {
        const open = h('button', { type: 'button', 'aria-label': `${w.details}: ${account.id}` }, account.id)
        open.addEventListener('click', () => void showAccount(detail, account.id, load))
        return h('tr', {}, h('td', {}, open), h('td', {}, account.status), h('td', {}, account.allowed_ips.join(', ')), h('td', {}, account.roles.join(', ')), h('td', {}, account.updated_at))
      })
      const next = body.next_cursor ? h('button', { type: 'button' }, w.nextPage) : undefined
      next?.addEventListener('click', () => {
        cursors.push(body.next_cursor!)
        void load()
      })
      const first = cursors.length > 0 ? h('button', { type: 'button' }, w.firstPage) : undefined
      first?.addEventListener('click', () => {
        cursors = []
        void load()
      })
      replace(
        list,
        rows.length === 0
          ? h('p', {}, w.noAccounts)
          : h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, w.accountId), h('th', {}, w.status), h('th', {}, w.allowedIps), h('th', {}, w.roles), h('th', {}, w.updated))), h('tbody', {}, ...rows)),
        first,
        next,
      )
    } catch (error) {
      replace(list, h('p', { class: 'error', role: 'alert' }, messageOf(error)))
    }
  }
  await load()
}

function createForm(container: HTMLElement, reload: () => Promise<void>): HTMLElement {
  const w = words()
  const id = h('input', { type: 'text', id: 'create-id', required: true })
  const ips = ipField('create-ips', w.allowedIps, '')
  const roles = roleBoxes('create-role', [])
  const problem = h('p', { class: 'error', role: 'alert' })
  const cancel = h('button', { type: 'button' }, w.cancel)
  cancel.addEventListener('click', () => container.replaceChildren())
  const form = h('form', { 'aria-label': w.createAccount }, h('label', { for: 'create-id' }, w.accountId), id, ips.field, roles.field, h('button', { type: 'submit', class: 'primary' }, w.create), cancel, problem)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (!ips.valid()) return
    void (async () => {
      try {
        const { body } = await api<{ account: Account; password?: string }>('POST', '/admin/v1/accounts', { body: { id: id.value.trim(), allowed_ips: ipList(ips.input.value), roles: roles.value() } })
        replace(container, h('p', { role: 'status' }, `${w.done}: ${body.account.id}`), body.password ? secretBox(body.password) : undefined)
        await reload()
      } catch (error) {
        problem.textContent = messageOf(error)
      }
    })()
  })
  return form
}

async function showAccount(target: HTMLElement, id: string, reload: () => Promise<void>): Promise<void> {
  const w = words()
  const path = `/admin/v1/accounts/${encodeURIComponent(id)}`
  let account: Account
  let etag: string
  try {
    const answer = await api<Account>('GET', path)
    account = answer.body
    etag = answer.headers.get('etag') ?? '*'
  } catch (error) {
    replace(target, h('section', { class: 'card' }, h('p', { class: 'error', role: 'alert' }, messageOf(error))))
    return
  }
  const result = h('div', { role: 'status', class: 'result' })
  const act = (run: () => Promise<unknown>) => async () => {
    try {
      const outcome = await run()
      await reload()
      await showAccount(target, id, reload)
      const password = (outcome as { body?: { password?: string } } | undefined)?.body?.password
      // The fields' problem messages are status regions too: the outcome goes to the result's.
      const shown = target.querySelector('[role=status].result')
      if (shown) replace(shown as HTMLElement, w.done, password ? secretBox(password) : undefined)
    } catch (error) {
      result.textContent = messageOf(error)
    }
  }
  const confirmThen = (question: string, run: () => Promise<unknown>) => () => {
    if (window.confirm(question)) void act(run)()
  }
  const patch = (body: Record<string, unknown>) => api<Account>('PATCH', path, { body, headers: { 'if-match': etag } })
  const button = (label: string, onClick: () => void, danger = false) => {
    const element = h('button', { type: 'button', class: danger ? 'danger' : undefined }, label)
    element.addEventListener('click', onClick)
    return element
  }
  const facts = h('dl', {}, h('dt', {}, w.status), h('dd', {}, account.status), h('dt', {}, w.created), h('dd', {}, account.created_at), h('dt', {}, w.updated), h('dd', {}, account.updated_at))
  const section = h('section', { class: 'card', 'aria-label': `${w.details}: ${account.id}` }, h('h3', {}, account.id), facts)
  if (!canEdit()) {
    append(section, [h('p', {}, `${w.allowedIps}: ${account.allowed_ips.join(', ')}`), h('p', {}, `${w.roles}: ${account.roles.join(', ')}`), h('p', { class: 'hint' }, w.readOnly)])
  } else {
    const ips = ipField('edit-ips', w.allowedIps, account.allowed_ips.join('\n'))
    const roles = roleBoxes('edit-role', account.roles)
    append(section, [
      ips.field,
      button(w.saveIps, () => {
        if (ips.valid()) void act(() => patch({ allowed_ips: ipList(ips.input.value) }))()
      }),
      roles.field,
      button(w.saveRoles, () => void act(() => patch({ roles: roles.value() }))()),
      h('div', {},
        account.status === 'active'
          ? button(w.suspend, confirmThen(w.confirmSuspend(id), () => patch({ status: 'suspended' })))
          : button(w.resume, () => void act(() => patch({ status: 'active' }))()),
        button(w.setPassword, confirmThen(w.confirmPassword(id), () => api('POST', `${path}/password`, { body: {} }))),
        button(w.revokeTokens, confirmThen(w.confirmRevoke(id), () => api('POST', `${path}/revoke-tokens`))),
        button(w.unlock, () => void act(() => api('POST', `${path}/unlock`))()),
        button(w.delete, () => {
          if (!window.confirm(w.confirmDelete(id))) return
          void (async () => {
            try {
              await api('DELETE', path)
              target.replaceChildren()
              await reload()
            } catch (error) {
              result.textContent = messageOf(error)
            }
          })()
        }, true),
      ),
    ])
  }
  append(section, [result])
  replace(target, section)
}

// --- keys ----------------------------------------------------------------------------------

async function renderKeys(target: HTMLElement): Promise<void> {
  const w = words()
  let listing: { keys: Key[]; promotion_delay_seconds: number }
  try {
    listing = (await api<{ keys: Key[]; promotion_delay_seconds: number }>('GET', '/admin/v1/keys')).body
  } catch (error) {
    replace(target, h('p', { class: 'error', role: 'alert' }, messageOf(error)))
    return
  }
  const column = (state: Key['state']) =>
    h(
      'div',
      { role: 'list', 'aria-label': w[state] },
      h('h3', {}, `${w[state]}`),
      ...listing.keys
        .filter((key) => key.state === state)
        .map((key) =>
          h(
            'div',
            { class: `key ${state}`, role: 'listitem' },
            h('strong', {}, key.kid), ` (${key.alg})`,
            h('div', {}, `${w.created}: ${key.createdAt}`),
            key.activatedAt ? h('div', {}, `${w.activated}: ${key.activatedAt}`) : undefined,
            key.promotesAt ? h('div', {}, `${w.promotesAt}: ${key.promotesAt}`) : undefined,
            key.removedAfter ? h('div', {}, `${w.removedAfter}: ${key.removedAfter}`) : undefined,
          ),
        ),
    )
  const controls = h('div', {})
  if (canEdit()) {
    const now = h('input', { type: 'checkbox', id: 'rotate-now' })
    const rotate = h('button', { type: 'button', class: 'primary' }, w.rotateKey)
    const result = h('p', { role: 'status' })
    rotate.addEventListener('click', () => {
      void (async () => {
        try {
          await api('POST', '/admin/v1/keys/rotate', { body: { now: now.checked } })
          await renderKeys(target)
        } catch (error) {
          result.textContent = messageOf(error)
        }
      })()
    })
    append(controls, [h('p', { class: 'hint' }, w.rotateHint(listing.promotion_delay_seconds)), h('label', { for: 'rotate-now' }, now, ` ${w.rotateNow}`), rotate, result])
  }
  replace(target, h('section', { class: 'card' }, h('h2', {}, w.keys), h('div', { class: 'timeline' }, column('next'), column('current'), column('retired')), controls))
}

// --- audit ---------------------------------------------------------------------------------

/** `status: "active" → "suspended"; …`, as `bizauth audit list` summarises changes. */
const changesSummary = (changes: AuditEvent['changes']): string =>
  Object.entries(changes)
    .map(([field, [before, after]]) => `${field}: ${JSON.stringify(before)} → ${JSON.stringify(after)}`)
    .join('; ') || '-'

async function renderAudit(target: HTMLElement): Promise<void> {
  const w = words()
  const account = h('input', { type: 'search', id: 'audit-account', value: auditFilter.account })
  const action = h('input', { type: 'search', id: 'audit-action', value: auditFilter.action, 'aria-describedby': 'audit-action-hint' })
  const list = h('div', {})
  const filters = h(
    'form',
    { role: 'search', 'aria-label': w.auditFilters },
    h('label', { for: 'audit-account' }, w.accountId),
    account,
    h('label', { for: 'audit-action' }, w.action),
    action,
    h('div', { id: 'audit-action-hint', class: 'hint' }, w.actionHint),
    h('button', { type: 'submit' }, w.filter),
  )
  filters.addEventListener('submit', (event) => {
    event.preventDefault()
    auditFilter = { account: account.value.trim(), action: action.value.trim() }
    auditCursors = []
    void load()
  })
  replace(target, h('section', { class: 'card' }, h('h2', {}, w.audit), filters), h('section', { class: 'card' }, list))

  async function load(): Promise<void> {
    const params = new URLSearchParams({ limit: String(AUDIT_PAGE) })
    if (auditFilter.account) params.set('account', auditFilter.account)
    if (auditFilter.action) params.set('action', auditFilter.action)
    const after = auditCursors[auditCursors.length - 1]
    if (after !== undefined) params.set('cursor', after)
    try {
      const { body } = await api<{ events: AuditEvent[]; next_cursor: string | null }>('GET', `/admin/v1/audit?${params}`)
      const rows = body.events.map((event) =>
        h(
          'tr',
          {},
          h('td', {}, event.seq),
          h('td', {}, event.time),
          h('td', {}, `${event.actor.type}:${event.actor.id}`),
          h('td', {}, event.source),
          h('td', {}, event.action),
          h('td', {}, event.target),
          h('td', {}, changesSummary(event.changes)),
        ),
      )
      const previous = auditCursors.length > 0 ? h('button', { type: 'button' }, w.previousPage) : undefined
      previous?.addEventListener('click', () => {
        auditCursors.pop()
        void load()
      })
      const next = body.next_cursor !== null ? h('button', { type: 'button' }, w.nextPage) : undefined
      next?.addEventListener('click', () => {
        auditCursors.push(body.next_cursor!)
        void load()
      })
      const head = [w.seq, w.time, w.actor, w.source, w.action, w.target, w.changes].map((label) => h('th', {}, label))
      replace(
        list,
        rows.length === 0 ? h('p', {}, w.noEvents) : h('table', { 'aria-label': w.audit }, h('thead', {}, h('tr', {}, ...head)), h('tbody', {}, ...rows)),
        previous,
        next,
      )
    } catch (error) {
      replace(list, h('p', { class: 'error', role: 'alert' }, messageOf(error)))
    }
  }
  await load()
}

// --- overview ------------------------------------------------------------------------------

const COLORS = ['#e63946', '#f4a261', '#2a9d8f', '#457b9d', '#8338ec', '#6c757d']
const queueHistory: number[] = []

/** `shown` is the legend's number: the hour's total unless given (a depth shows its latest value). */
function lineChart(label: string, series: Array<{ name: string; values: number[]; shown?: number }>): HTMLElement {
  const width = 600
  const height = 140
  const max = Math.max(1, ...series.flatMap((entry) => entry.values))
  const paths = series.map((entry, index) => {
    const step = width / Math.max(1, entry.values.length - 1)
    const points = entry.values.map((value, i) => `${(i * step).toFixed(1)},${(height - 10 - (value / max) * (height - 20)).toFixed(1)}`).join(' ')
    return svg('polyline', { points, fill: 'none', stroke: COLORS[index % COLORS.length]!, 'stroke-width': 2 })
  })
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${label}: max ${max}` }, ...paths)
  const legend = h('div', { class: 'legend' }, ...series.map((entry, index) => h('span', { style: undefined }, h('b', {}, '■ '), `${entry.name}: ${entry.shown ?? entry.values.reduce((sum, value) => sum + value, 0)}`)))
  legend.querySelectorAll('b').forEach((mark, index) => ((mark as HTMLElement).style.color = COLORS[index % COLORS.length]!))
  return h('figure', { 'aria-label': label }, h('figcaption', {}, label), chart, legend)
}

async function renderOverview(target: HTMLElement): Promise<void> {
  const w = words()
  let stats: Stats
  try {
    stats = (await api<Stats>('GET', '/admin/v1/stats')).body
  } catch (error) {
    replace(target, h('p', { class: 'error', role: 'alert' }, messageOf(error)))
    return
  }
  queueHistory.push(stats.hash_queue.waiting + stats.hash_queue.running)
  if (queueHistory.length > 60) queueHistory.shift()
  const codes = [...new Set(stats.minutes.flatMap((minute) => Object.keys(minute.refused)))].sort()
  const ratio = stats.credential_cache.hit_ratio
  const age = stats.current_key ? `${Math.floor(stats.current_key.age_seconds / 86400)} d ${Math.floor((stats.current_key.age_seconds % 86400) / 3600)} h (${stats.current_key.kid})` : '-'
  replace(
    target,
    h(
      'section',
      { class: 'card' },
      h('h2', {}, w.overview),
      h(
        'div',
        { class: 'charts' },
        lineChart(w.tokensPerMinute, [{ name: 'issued', values: stats.minutes.map((minute) => minute.issued) }]),
        lineChart(w.refusalsPerMinute, codes.length === 0 ? [{ name: '-', values: stats.minutes.map(() => 0) }] : codes.map((code) => ({ name: code, values: stats.minutes.map((minute) => minute.refused[code] ?? 0) }))),
        h('figure', { 'aria-label': w.cacheHitRatio }, h('figcaption', {}, w.cacheHitRatio), h('meter', { min: 0, max: 1, value: ratio ?? 0, 'aria-label': w.cacheHitRatio }), ` ${ratio === null ? '-' : `${(ratio * 100).toFixed(1)} %`} (${stats.credential_cache.hits}/${stats.credential_cache.lookups})`),
        lineChart(w.hashQueue, [{ name: `max ${stats.hash_queue.max_waiting}`, values: queueHistory, shown: queueHistory[queueHistory.length - 1] ?? 0 }]),
        h('figure', { 'aria-label': w.keyAge }, h('figcaption', {}, w.keyAge), h('p', {}, age)),
      ),
    ),
  )
}

// --- shell ---------------------------------------------------------------------------------

function navigate(next: View): void {
  view = next
  render()
}

function render(): void {
  const w = words()
  document.title = w.title
  window.clearInterval(refreshTimer)
  const language = h('button', { type: 'button', lang: w.language === 'English' ? 'en' : 'ko' }, w.language)
  language.addEventListener('click', () => {
    toggleLanguage()
    render()
  })
  if (!signedIn() || !me) {
    replace(root, h('header', {}, h('h1', {}, w.title), h('nav', { 'aria-label': w.title }), language), renderSignIn())
    return
  }
  const link = (target: View, label: string) => {
    const element = h('a', { href: `#${target}`, 'aria-current': view === target ? 'page' : undefined }, label)
    element.addEventListener('click', (event) => {
      event.preventDefault()
      navigate(target)
    })
    return element
  }
  const out = h('button', { type: 'button' }, w.signOut)
  out.addEventListener('click', () => signOut())
  const main = h('main', {})
  replace(root, h('header', {}, h('h1', {}, w.title), h('nav', { 'aria-label': w.title }, link('accounts', w.accounts), link('keys', w.keys), link('audit', w.audit), link('overview', w.overview)), h('span', {}, `${me.id}${canEdit() ? '' : ` · ${w.readOnly}`}`), language, out), main)
  if (view === 'accounts') void renderAccounts(main)
  if (view === 'keys') void renderKeys(main)
  if (view === 'audit') void renderAudit(main)
  if (view === 'overview') {
    void renderOverview(main)
    refreshTimer = window.setInterval(() => {
      if (signedIn()) void renderOverview(main)
    }, REFRESH_MS)
  }
}

render()
