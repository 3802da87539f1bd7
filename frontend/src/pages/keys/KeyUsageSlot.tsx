import type { Key } from '../../api/types'

/**
 * KeyUsageSlot is where the key detail screen shows the key's usage over time. The usage
 * chart (KeyUsage, from the usage work) goes here: render it inside a Card titled
 * t('keys.detail.usage'). Until then the slot shows nothing, so the screen never has an empty
 * card.
 */
export function KeyUsageSlot(_props: { k: Key }) {
  return null
}
