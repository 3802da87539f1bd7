import { useEffect, useState } from 'react'
import { useI18n } from '../i18n/i18n'

/** Time shows when something happened relative to now, with the exact time on hover and focus. */
export function Time({ value, empty }: { value: string | null | undefined; empty?: string }) {
  const { relative, exact, t } = useI18n()
  const [, tick] = useState(0)
  useEffect(() => {
    const id = window.setInterval(() => tick((n) => n + 1), 30_000)
    return () => window.clearInterval(id)
  }, [])
  if (!value) return <span className="muted">{empty ?? t('common.never')}</span>
  const d = new Date(value)
  if (isNaN(d.getTime())) return <span className="muted">{value}</span>
  return (
    <time dateTime={value} title={exact(d)} className="time" tabIndex={0}>
      {relative(d)}
    </time>
  )
}
