import { useEffect, useState } from 'react'
import { useI18n } from '../../i18n/i18n'
import { presetQuery, type RangeKind, type RangeQuery } from './usage'

const kinds: RangeKind[] = ['hour', 'day', 'week', 'custom']

/** toLocalInput writes an instant as a datetime-local value (local time, minutes). */
function toLocalInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`
}

/**
 * useUsageRange keeps a usage range: a preset ending now (moved forward every refresh
 * interval while live) or a custom one. It returns the GetUsage range, or null while a custom
 * range is invalid.
 */
export function useUsageRange(initial: RangeKind = 'hour', live = true, every = 10_000) {
  const [kind, setKind] = useState<RangeKind>(initial)
  const [now, setNow] = useState(() => new Date())
  const [custom, setCustom] = useState(() => {
    const to = new Date()
    return { from: toLocalInput(new Date(to.getTime() - 6 * 3600_000)), to: toLocalInput(to) }
  })
  useEffect(() => {
    if (!live || kind === 'custom') return
    const id = window.setInterval(() => setNow(new Date()), every)
    return () => window.clearInterval(id)
  }, [live, kind, every])
  let query: RangeQuery | null
  if (kind === 'custom') {
    const from = new Date(custom.from)
    const to = new Date(custom.to)
    query = isNaN(from.getTime()) || isNaN(to.getTime()) || to <= from ? null : { from: from.toISOString(), to: to.toISOString() }
  } else {
    query = presetQuery(kind, now)
  }
  return { kind, setKind, custom, setCustom, query }
}

type RangeState = ReturnType<typeof useUsageRange>

/** RangePicker chooses the last hour, day or week, or a custom range, for the usage charts. */
export function RangePicker({ range }: { range: RangeState }) {
  const { t } = useI18n()
  const labels: Record<RangeKind, string> = {
    hour: t('usage.range.hour'), day: t('usage.range.day'), week: t('usage.range.week'), custom: t('usage.range.custom'),
  }
  const invalid = range.kind === 'custom' && range.query === null
  return (
    <div className="toolbar range-picker">
      <div className="segmented" role="radiogroup" aria-label={t('usage.range.label')}>
        {kinds.map((k) => (
          <button key={k} type="button" role="radio" className="segment" aria-checked={range.kind === k} onClick={() => range.setKind(k)}>
            {labels[k]}
          </button>
        ))}
      </div>
      {range.kind === 'custom' ? (
        <>
          <label className="filter">
            <span>{t('usage.range.from')}</span>
            <input className="input input-sm" type="datetime-local" value={range.custom.from} aria-invalid={invalid || undefined}
              onChange={(e) => range.setCustom({ ...range.custom, from: e.target.value })} />
          </label>
          <label className="filter">
            <span>{t('usage.range.to')}</span>
            <input className="input input-sm" type="datetime-local" value={range.custom.to} aria-invalid={invalid || undefined}
              onChange={(e) => range.setCustom({ ...range.custom, to: e.target.value })} />
          </label>
          {invalid ? <span className="field-error" role="alert">{t('usage.range.invalid')}</span> : null}
        </>
      ) : null}
    </div>
  )
}
