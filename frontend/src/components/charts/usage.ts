import type { Bucket, Series } from '../../api/operations'
import type { I18n } from '../../i18n/i18n'
import { rangeError, type TimeRangeValue } from '../TimeRange'

/** Range is a time range the usage charts offer: a preset ending now, or a custom one. */
export type RangeKind = 'hour' | 'day' | 'week' | 'custom'

export interface RangeQuery {
  from: string
  to: string
  bucket?: string
}

const minute = 60_000
const hour = 60 * minute

/**
 * presetQuery is the GetUsage range of a preset ending at now: the last hour by minute, the last
 * 24 hours by hour and the last 7 days by 3 hours, each starting on a whole bucket (local
 * time) so the axis ticks fall on round times.
 */
export function presetQuery(kind: Exclude<RangeKind, 'custom'>, now: Date): RangeQuery {
  const to = new Date(Math.floor(now.getTime() / minute) * minute + minute) // the minute under way, whole
  const from = new Date(to)
  let bucket = '1m'
  if (kind === 'hour') {
    from.setTime(to.getTime() - hour)
  } else if (kind === 'day') {
    bucket = '1h'
    from.setTime(to.getTime() - 24 * hour)
    from.setMinutes(0, 0, 0)
  } else {
    bucket = '3h'
    from.setTime(to.getTime() - 7 * 24 * hour)
    from.setMinutes(0, 0, 0)
    from.setHours(from.getHours() - (from.getHours() % 3))
  }
  return { from: from.toISOString(), to: to.toISOString(), bucket }
}

/**
 * rangeQuery is the GetUsage range that a time range of the Requests screen stands for at now,
 * so that one choice drives both its chart and its log: the last 15 minutes and hour by minute,
 * the last 24 hours by hour, the last 7 days by 3 hours (as presetQuery), a custom range as
 * chosen (up to now when it has no end; GetUsage picks the bucket). Null when there is nothing
 * to chart: no start, an end before the start, or "any time".
 */
export function rangeQuery(v: TimeRangeValue, now: Date): RangeQuery | null {
  switch (v.preset) {
    case '15m': {
      const to = Math.floor(now.getTime() / minute) * minute + minute
      return { from: new Date(to - 15 * minute).toISOString(), to: new Date(to).toISOString(), bucket: '1m' }
    }
    case '1h': return presetQuery('hour', now)
    case '24h': return presetQuery('day', now)
    case '7d': return presetQuery('week', now)
    case 'custom':
      if (!v.from || rangeError(v)) return null
      return { from: v.from, to: v.to ?? new Date(Math.floor(now.getTime() / minute) * minute + minute).toISOString() }
    default: return null
  }
}

/** bucketMs is the width of a GetUsage bucket such as 5m, 1h or 1d. */
export function bucketMs(bucket: string): number {
  const n = Number(bucket.slice(0, -1))
  return n * ({ m: minute, h: hour, d: 24 * hour } as Record<string, number>)[bucket.slice(-1)]
}

/** errorsOf counts a bucket's 4xx and 5xx answers. */
export function errorsOf(b: Pick<Bucket, 'clientErrors' | 'serverErrors'>): number {
  return (b.clientErrors ?? 0) + (b.serverErrors ?? 0)
}

/** errorRate is the share of a bucket's requests that got a 4xx or 5xx (0 without requests). */
export function errorRate(b: Pick<Bucket, 'clientErrors' | 'serverErrors' | 'total'>): number {
  return b.total ? errorsOf(b) / b.total : 0
}

/** tickFormat formats a bucket's start for an axis: the time of day for short ranges, the day otherwise. */
export function tickFormat(lang: string, s: Series): (ms: number) => string {
  const span = new Date(s.to).getTime() - new Date(s.from).getTime()
  const width = bucketMs(s.bucket)
  const opts: Intl.DateTimeFormatOptions = width >= 24 * hour ? { month: 'short', day: 'numeric' }
    : span > 24 * hour ? { weekday: 'short', hour: 'numeric' }
      : { hour: 'numeric', minute: '2-digit' }
  const f = new Intl.DateTimeFormat(lang, opts)
  return (ms) => f.format(new Date(ms))
}

/** when formats an instant in full for summaries, tooltips and tables. */
export function when(lang: string, iso: string | number): string {
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso))
}

/** ms formats a latency in milliseconds ("—" for none). */
export function ms(i18n: Pick<I18n, 'number'>, v: number | null | undefined): string {
  if (v == null) return '—'
  return i18n.number(v, { style: 'unit', unit: 'millisecond', unitDisplay: 'short', maximumFractionDigits: v < 10 ? 2 : v < 100 ? 1 : 0 })
}

/** percent formats a share (0–1). */
export function percent(i18n: Pick<I18n, 'number'>, v: number): string {
  return i18n.number(v, { style: 'percent', maximumFractionDigits: v > 0 && v < 0.1 ? 1 : 0 })
}

/** summary is a series' text summary: the chart's accessible label and its visible caption. */
export function summary(i18n: I18n, s: Series): string {
  const b = s.summary
  const From = when(i18n.lang, s.from)
  const To = when(i18n.lang, s.to)
  if (!b.total) return i18n.t('usage.summary.empty', { From, To })
  return i18n.t('usage.summary', {
    From, To,
    Requests: i18n.number(b.total ?? 0),
    Errors: i18n.number(errorsOf(b)),
    Rate: percent(i18n, errorRate(b)),
    Rejected: i18n.number(b.rejected ?? 0),
    P50: ms(i18n, b.p50Ms),
    P95: ms(i18n, b.p95Ms),
  })
}
