import { useId } from 'react'
import { useI18n } from '../i18n/i18n'

/** The ranges on offer: none, the last quarter hour … week (up to now), or custom bounds. */
export const rangePresets = ['any', '15m', '1h', '24h', '7d', 'custom'] as const
export type RangePreset = (typeof rangePresets)[number]

/** presetMs is the length of each preset that ends now. */
export const presetMs: Record<string, number> = { '15m': 15 * 60_000, '1h': 3600_000, '24h': 86400_000, '7d': 7 * 86400_000 }

/**
 * TimeRangeValue is a chosen range. from and to are RFC 3339 instants for the API (from
 * inclusive, to exclusive); a preset's from is fixed when it is chosen, so a query keyed by
 * it does not change at every render. fromLocal/toLocal are the custom inputs' text.
 */
export interface TimeRangeValue {
  preset: RangePreset
  from?: string
  to?: string
  fromLocal?: string
  toLocal?: string
}

export const anyTime: TimeRangeValue = { preset: 'any' }

/** localToISO reads a datetime-local value ("2026-01-30T15:45") in the browser's zone. */
export function localToISO(v: string | undefined): string | undefined {
  if (!v) return undefined
  const d = new Date(v)
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString()
}

/** toLocalInput writes an instant as a datetime-local value (local time, seconds). */
export function toLocalInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** rangeOf is the value for a preset chosen at now (custom keeps the given bounds). */
export function rangeOf(preset: RangePreset, now: Date = new Date(), custom: Partial<TimeRangeValue> = {}): TimeRangeValue {
  if (preset === 'any') return anyTime
  if (preset === 'custom') {
    // Switching from a preset to custom starts from the preset's window (its start, no end).
    const fromLocal = custom.fromLocal ?? (custom.from ? toLocalInput(new Date(custom.from)) : undefined)
    const from = localToISO(fromLocal)
    const to = localToISO(custom.toLocal)
    return { preset, fromLocal, toLocal: custom.toLocal, from, to }
  }
  return { preset, from: new Date(now.getTime() - presetMs[preset]).toISOString() }
}

/** rangeError says what is wrong with a custom range, if anything. */
export function rangeError(v: TimeRangeValue): 'order' | undefined {
  return v.from && v.to && v.to <= v.from ? 'order' : undefined
}

/**
 * TimeRange picks a time range: a preset, or custom "from" and "to" in local time. presets
 * narrows the choice (the Requests screen, whose chart needs a bounded range, offers no "any").
 */
export function TimeRange({ value, onChange, presets = rangePresets }: {
  value: TimeRangeValue
  onChange: (v: TimeRangeValue) => void
  presets?: readonly RangePreset[]
}) {
  const { t } = useI18n()
  const id = useId()
  const err = rangeError(value)
  return (
    <div className="time-range" role="group" aria-label={t('range.label')}>
      <label className="filter">
        <span>{t('range.label')}</span>
        <select className="input input-sm" value={value.preset} onChange={(e) => onChange(rangeOf(e.target.value as RangePreset, new Date(), value))} data-testid="time-range">
          {presets.map((p) => <option key={p} value={p}>{t(`range.preset.${p}`)}</option>)}
        </select>
      </label>
      {value.preset === 'custom' ? (
        <>
          <label className="filter">
            <span>{t('range.from')}</span>
            <input type="datetime-local" step={1} className="input input-sm" value={value.fromLocal ?? ''} aria-invalid={err ? true : undefined}
              aria-describedby={err ? `${id}-err` : undefined}
              onChange={(e) => onChange(rangeOf('custom', new Date(), { ...value, fromLocal: e.target.value }))} data-testid="time-range-from" />
          </label>
          <label className="filter">
            <span>{t('range.to')}</span>
            <input type="datetime-local" step={1} className="input input-sm" value={value.toLocal ?? ''} aria-invalid={err ? true : undefined}
              aria-describedby={err ? `${id}-err` : undefined}
              onChange={(e) => onChange(rangeOf('custom', new Date(), { ...value, toLocal: e.target.value }))} data-testid="time-range-to" />
          </label>
          {err ? <span id={`${id}-err`} className="field-error small" role="alert">{t('range.error.order')}</span> : null}
        </>
      ) : null}
    </div>
  )
}
