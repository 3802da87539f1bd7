import { useEffect, useState } from 'react'
import { useOp } from '../../api/context'
import type { RequestEntry } from '../../api/types'
import { Button } from '../../components/Button'
import { PageHeader } from '../../components/PageHeader'
import { EmptyState, ErrorState, Loading } from '../../components/States'
import { HttpStatus } from '../../components/StatusBadge'
import { Time } from '../../components/Time'
import { TimeRange, presetMs, rangeError, rangeOf, type RangePreset, type TimeRangeValue } from '../../components/TimeRange'
import { rangeQuery } from '../../components/charts/usage'
import type { Column } from '../../export/export'
import { ExportMenu } from '../../export/ExportMenu'
import { useI18n } from '../../i18n/i18n'
import { useSession } from '../../session'
import { RequestDrawer } from './RequestDrawer'
import { useRequestLog } from './useRequestLog'
import { TrafficCard } from './TrafficCard'

const statusClasses = ['', '2xx', '3xx', '4xx', '5xx']

/**
 * rangePresets are the Requests screen's time ranges. One range drives the traffic chart and the
 * log, and a chart needs bounds, so there is no "any time": a custom range reaches older entries.
 */
const rangePresets: readonly RangePreset[] = ['15m', '1h', '24h', '7d', 'custom']

/** useNow is the time, moved forward every interval while on (a range ending now slides with it). */
function useNow(on: boolean, every = 10_000): [Date, () => void] {
  const [now, setNow] = useState(() => new Date())
  useEffect(() => {
    if (!on) return
    const id = window.setInterval(() => setNow(new Date()), every)
    return () => window.clearInterval(id)
  }, [on, every])
  return [now, () => setNow(new Date())]
}

/** latency formats microseconds as ms for people. */
export function latency(us: number, number: (n: number, o?: Intl.NumberFormatOptions) => string) {
  return number(us / 1000, { style: 'unit', unit: 'millisecond', unitDisplay: 'short', maximumFractionDigits: us < 10_000 ? 1 : 0 })
}

/**
 * requestColumns are the exported fields: what the table and its detail drawer show. Header
 * values are the request log's (credentials and values off the allowlist are "[redacted]",
 * never the value itself).
 */
export const requestColumns: Column<RequestEntry>[] = [
  { name: 'id', value: (r) => r.id },
  { name: 'time', value: (r) => r.time },
  { name: 'requestId', value: (r) => r.requestId },
  { name: 'method', value: (r) => r.method },
  { name: 'path', value: (r) => r.path },
  { name: 'status', value: (r) => r.status },
  { name: 'latencyMs', value: (r) => r.latencyUs / 1000 },
  { name: 'route', value: (r) => r.route },
  { name: 'keyId', value: (r) => r.keyId },
  { name: 'keyName', value: (r) => r.keyName },
  { name: 'userId', value: (r) => r.userId },
  { name: 'orgId', value: (r) => r.orgId },
  { name: 'errorCode', value: (r) => r.errorCode },
  { name: 'clientAddr', value: (r) => r.clientAddr },
  { name: 'headers', value: (r) => r.headers },
]

/**
 * RequestsPage is the request log: live over a stream (server-sent events, or Wails events on
 * the desktop) with Live/Pause, filters by status, key, route and time, an export of what it
 * shows, and a detail drawer.
 */
export function RequestsPage() {
  const { t, number, bidi } = useI18n()
  const { org } = useSession()
  const [status, setStatus] = useState('')
  const [keyId, setKeyId] = useState('')
  const [route, setRoute] = useState('')
  const [range, setRange] = useState<TimeRangeValue>(() => rangeOf('24h'))
  const [live, setLive] = useState(true)
  const [selected, setSelected] = useState<RequestEntry | null>(null)
  const [now, tick] = useNow(live && !range.to)
  const chooseRange = (v: TimeRangeValue) => { setRange(v); tick() }
  const badRange = rangeError(range) !== undefined
  const filter = { org: org.id, status: status || undefined, keyId: keyId || undefined, route: route || undefined,
    from: badRange ? undefined : range.from, to: badRange ? undefined : range.to }
  const ended = Boolean(filter.to)
  const q = useRequestLog(filter, live)
  const keys = useOp('ListKeys', { org: org.id, status: 'all', limit: 200 })
  const routes = useOp('ListRoutes', {})
  // A range that ends now slides: entries that fall out of it leave the log as they leave the chart.
  const since = presetMs[range.preset] ? now.getTime() - presetMs[range.preset] : undefined
  const rows = since === undefined ? q.entries : q.entries.filter((e) => new Date(e.time).getTime() >= since)
  const streaming = live && !ended
  return (
    <>
      <PageHeader
        title={t('requests.title')}
        description={t('requests.description')}
        actions={<Button icon={live ? 'stop' : 'play'} onClick={() => setLive(!live)} aria-pressed={live} disabled={ended}>{live ? t('requests.pause') : t('requests.resume')}</Button>}
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
        <TimeRange value={range} onChange={chooseRange} presets={rangePresets} />
        <span className="toolbar-end">
          {streaming ? (
            q.state === 'live'
              ? <span className="live" data-testid="live-state"><span className="live-dot" aria-hidden="true" />{t('requests.live')}</span>
              : q.state === 'stopped' ? null
                : <span className="live live-waiting" data-testid="live-state" role="status">{t('requests.reconnecting')}</span>
          ) : <span className="live live-paused" data-testid="live-state">{ended ? t('requests.range_ended') : t('requests.paused')}</span>}
          <ExportMenu what="requests" rows={rows} columns={requestColumns} />
        </span>
      </div>
      <TrafficCard org={org.id} keyId={keyId} route={route} live={streaming} range={rangeQuery(range, now)} />
      {q.pending ? <Loading /> : q.error ? <ErrorState error={q.error} onRetry={q.retry} /> : rows.length === 0 ? (
        <EmptyState icon="activity" title={t('requests.empty.title')}><p>{t('requests.empty.body')} {t('requests.empty.range')}</p></EmptyState>
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
                  key={r.id ? `#${r.id}` : `${r.requestId}-${r.time}`}
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
