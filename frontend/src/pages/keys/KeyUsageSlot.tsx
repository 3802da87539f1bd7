import type { Key } from '../../api/types'
import { KeyUsage } from './KeyUsage'

/** KeyUsageSlot is where the key detail screen shows the key's usage over time. */
export function KeyUsageSlot({ k }: { k: Key }) {
  return <KeyUsage k={k} />
}
