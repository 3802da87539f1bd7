import type { ReactNode } from 'react'
import { useT } from '../i18n/i18n'
import { ApiError } from '../api/error'
import { Icon, type IconName } from './Icon'
import { Button } from './Button'

/** Loading is a quiet skeleton while data arrives; screen readers hear "Loading". */
export function Loading({ rows = 4 }: { rows?: number }) {
  const t = useT()
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="sr-only">{t('common.loading')}</span>
      {Array.from({ length: rows }, (_, i) => <div key={i} className="skeleton" style={{ inlineSize: `${90 - i * 9}%` }} />)}
    </div>
  )
}

/** EmptyState explains what would be here and offers the first step. */
export function EmptyState({ icon = 'key', title, children, action }: { icon?: IconName; title: ReactNode; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty">
      <div className="empty-icon"><Icon name={icon} size={22} /></div>
      <h3 className="empty-title">{title}</h3>
      {children ? <div className="empty-body">{children}</div> : null}
      {action ? <div className="empty-action">{action}</div> : null}
    </div>
  )
}

/** errorDetail is what the user reads for a failed call: the problem's localized detail. */
export function errorDetail(e: unknown, fallback: string): string {
  if (e instanceof ApiError) return e.detail || fallback
  if (e instanceof Error && e.message) return e.message
  return fallback
}

/** ErrorState shows a failed call's localized detail, never a blank screen, with a retry. */
export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const t = useT()
  return (
    <div className="error-state" role="alert">
      <Icon name="alert" size={20} />
      <div>
        <p className="error-title">{t('common.error.title')}</p>
        <p className="error-detail">{errorDetail(error, t('common.error.unknown'))}</p>
      </div>
      {onRetry ? <Button size="sm" icon="refresh" onClick={onRetry}>{t('common.retry')}</Button> : null}
    </div>
  )
}

/** InlineError is a form-level problem message inside a dialog. */
export function InlineError({ error }: { error: unknown }) {
  const t = useT()
  if (!error) return null
  return (
    <div className="inline-error" role="alert">
      <Icon name="alert" />
      <span>{errorDetail(error, t('common.error.unknown'))}</span>
    </div>
  )
}
