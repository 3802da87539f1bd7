import type { KeyStatus } from '../../api/types'

/** ListView is what the keys list shows: a name search, a status, "expiring within 7 days",
 * an order and a page size. It lives in the address, so it survives a visit to a key. */
export interface ListView {
  q: string
  status: KeyStatus | 'all'
  expiring: boolean
  sort: string
  size: number
}

/** sorts are the orders offered: the API's sort and order, and the label's message. */
export const sorts: [string, string][] = [
  ['created:desc', 'keys.sort.newest'],
  ['created:asc', 'keys.sort.oldest'],
  ['name:asc', 'keys.sort.name'],
  ['lastUsed:desc', 'keys.sort.last_used'],
  ['expires:asc', 'keys.sort.expires'],
]
export const pageSizes = [25, 50, 100]
const statuses = ['all', 'active', 'disabled', 'expired', 'revoked']
const defaults: ListView = { q: '', status: 'all', expiring: false, sort: 'created:desc', size: 50 }

/** listQuery reads and writes a ListView as URL query parameters; anything unknown is the
 * default, so a hand-edited address never breaks the screen. */
export const listQuery = {
  parse(p: URLSearchParams): ListView {
    const status = p.get('status') ?? ''
    const sort = p.get('sort') ?? ''
    const size = Number(p.get('size'))
    return {
      q: (p.get('q') ?? '').slice(0, 64),
      status: (statuses.includes(status) ? status : defaults.status) as ListView['status'],
      expiring: p.get('expiring') === '7',
      sort: sorts.some(([v]) => v === sort) ? sort : defaults.sort,
      size: pageSizes.includes(size) ? size : defaults.size,
    }
  },
  format(v: ListView): string {
    const p = new URLSearchParams()
    if (v.q) p.set('q', v.q)
    if (v.status !== defaults.status) p.set('status', v.status)
    if (v.expiring) p.set('expiring', '7')
    if (v.sort !== defaults.sort) p.set('sort', v.sort)
    if (v.size !== defaults.size) p.set('size', String(v.size))
    const s = p.toString()
    return s ? `?${s}` : ''
  },
}
