/** expiryPresets are the choices of the create dialog, in the API's expiry vocabulary. */
export const expiryPresets = ['never', '7d', '30d', '60d', '90d', '1y', 'custom'] as const
export type ExpiryPreset = (typeof expiryPresets)[number]

/** tomorrow is the first date the custom expiry accepts, as YYYY-MM-DD in local time. */
export function tomorrow(now = new Date()): string {
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
}
