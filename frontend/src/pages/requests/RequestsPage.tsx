import { useState } from 'react'
import { useOp } from '../../api/context'
import type { RequestEntry } from '../../api/types'
import { Button } from '../../components/Button'
import { PageHeader } from '../../components/PageHeader'
import { EmptyState, ErrorState, Loading } from '../../components/States'
import { HttpStatus } from '../../components/StatusBadge'
import { Time } from '../../components/Time'
import { useI18n } from '../../i18n/i18n'
import { useSession } from '../../session'
import { RequestDrawer } from './RequestDrawer'

const statusClasses = ['', '2xx', '3xx', '4xx', '5xx']

/** latency formats microseconds as ms for people. */
export function latency(us: number, number: (n: number, o?: Intl.NumberFormatOptions) => string) {
  return number(us / 1000, { style: 'unit', unit: 'millisecond', unitDisplay: 'short', maximumFractionDigits: us < 10_000 ? 1 : 0 })
}

/** RequestsPage is the live request log, polled every two seconds, with filters and a detail drawer. */
export function RequestsPage() {
  const { t, number, bidi } = useI18n()
  const { org } = useSession()
  const [status, setStatus] = useState('')
  const [keyId, setKeyId] = useState('')
  const [route, setRoute] = useState('')
  const [live, setLive] = useState(true)
  const [selected, setSelected] = useState<RequestEntry | null>(null)
  const q = useOp('ListRequests', { org: org.id, status: status || undefined, keyId: keyId || undefined, route: route || undefined, limit: 200 }, { refetchInterval: live ? 2000 : false })
  const keys = useOp('ListKeys', { org: org.id, status: 'all', limit: 200 })
  const routes = useOp('ListRoutes', {})
  const rows = q.data?.requests ?? []
  return (
    <>
      <PageHeader
        title={t('requests.title')}
        description={t('requests.description')}
        actions={<Button icon={live ? 'stop' : 'play'} onClick={() => setLive(!live)} aria-pressed={live}>{live ? t('requests.pause') : t('requests.resume')}</Button>}
      />
      <div className="toolbar filters">
        <label className="filter">
          <span>{t('requests.filter.status')}</span>
          <select className="input input-sm" value={status} onChange={(e) => setStatus(e.target.value)}>
            {statusClasses.map((s) => <option key={s} value={s}>{s ? s : t('requests.filter.any')}</option>)}
          </select>
        </label>
        <label className="filter">
          <span>{t('requests.filter.key')}</span>
          <select className="input input-sm" value={keyId} onChange={(e) => setKeyId(e.target.value)}>
            <option value="">{t('requests.filter.any')}</option>
            {(keys.data?.keys ?? []).map((k) => <option key={k.id} value={k.id}>{bidi(k.name)}</option>)}
          </select>
        </label>
        <label className="filter">
          <span>{t('requests.filter.route')}</span>
          <select className="input input-sm" value={route} onChange={(e) => setRoute(e.target.value)}>
            <option value="">{t('requests.filter.any')}</option>
            {(routes.data?.routes ?? []).map((r) => <option key={r.id} value={r.prefix}>{bidi(r.prefix)}</option>)}
          </select>
        </label>
        {live ? <span className="live"><span className="live-dot" aria-hidden="true" />{t('requests.live')}</span> : null}
      </div>
      {q.isPending ? <Loading /> : q.isError ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : rows.length === 0 ? (
        <EmptyState icon="activity" title={t('requests.empty.title')}><p>{t('requests.empty.body')}</p></EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table table-hover">
            <thead>
              <tr>
                <th scope="col">{t('requests.field.time')}</th>
                <th scope="col">{t('requests.field.method')}</th>
                <th scope="col">{t('requests.field.path')}</th>
                <th scope="col">{t('requests.field.status')}</th>
                <th scope="col">{t('requests.field.latency')}</th>
                <th scope="col">{t('requests.field.key')}</th>
                <th scope="col">{t('requests.field.error')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr
                  key={`${r.requestId}-${r.time}`}
                  tabIndex={0}
                  className="clickable"
                  onClick={() => setSelected(r)}
                  onKeyDown={(e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); setSelected(r) } }}
                  aria-label={t('requests.open', { Method: r.method, Path: r.path })}
                >
                  <td><Time value={r.time} /></td>
                  <td><span className="method">{r.method}</span></td>
                  <td className="truncate"><code dir="ltr">{r.path}</code></td>
                  <td><HttpStatus code={r.status} /></td>
                  <td className="num">{latency(r.latencyUs, number)}</td>
                  <td className="truncate">{r.keyName ? <bdi>{r.keyName}</bdi> : (r.userId ? t('requests.session') : <span className="muted">—</span>)}</td>
                  <td>{r.errorCode ? <code className="error-code">{r.errorCode}</code> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {selected ? <RequestDrawer entry={selected} onClose={() => setSelected(null)} /> : null}
    </>
  )
}
