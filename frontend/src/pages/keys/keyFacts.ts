import type { Key } from '../../api/types'
import type { I18n } from '../../i18n/i18n'

/** keyPath is the address of a key's detail screen. */
export const keyPath = (id: string) => `/keys/${encodeURIComponent(id)}`

/** canRoll says whether a key may get a new secret: an expired key's new secret would be
 * expired too, so only active keys roll (the server refuses the others as well). */
export function canRoll(k: Pick<Key, 'status'>): boolean {
  return k.status === 'active'
}

const units: [Intl.NumberFormatOptions['unit'], number][] = [
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
]

/** durationText says a number of seconds in the largest unit that divides it evenly
 * ("5 minutes", "1 day"), in the user's language. */
export function durationText(number: I18n['number'], seconds: number): string {
  for (const [unit, size] of units) {
    if (seconds >= size && seconds % size === 0) {
      return number(seconds / size, { style: 'unit', unit, unitDisplay: 'long' })
    }
  }
  return number(seconds, { style: 'unit', unit: 'second', unitDisplay: 'long' })
}

/** rateText says a rate limit: "100 requests per 1 minute", or "No limit" for 0. */
export function rateText(t: I18n['t'], number: I18n['number'], limit: number, windowSeconds: number): string {
  if (!limit) return t('keys.limit.none')
  return t('keys.limit.rate', { Count: limit, Window: durationText(number, windowSeconds || 60) })
}
