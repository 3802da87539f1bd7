import { useI18n } from '../i18n/i18n'

interface Props {
  /** label says what is in progress ("Importing keys"); it names the bar for assistive tech. */
  label: string
  /** done and total units (rows, bytes, keys); without total the bar is indeterminate. */
  value?: number
  max?: number
  /** detail is an optional line under the bar, e.g. "1,200 of 5,000 keys". */
  detail?: string
}

/**
 * Progress is the one progress indicator for long actions (key import, restore, …): an
 * accessible progressbar (role, aria-valuenow/-max, a percent as its text) that turns
 * indeterminate when the total is not known yet. It follows the theme and the direction.
 */
export function Progress({ label, value, max, detail }: Props) {
  const { t, number } = useI18n()
  const known = value !== undefined && max !== undefined && max > 0
  const ratio = known ? Math.min(1, Math.max(0, value / max)) : 0
  const percent = number(ratio, { style: 'percent', maximumFractionDigits: 0 })
  return (
    <div className="progress">
      <div className="progress-head">
        <span className="progress-label">{label}</span>
        <span className="progress-value muted small" aria-hidden="true">{known ? percent : t('progress.working')}</span>
      </div>
      <div
        className={known ? 'progress-track' : 'progress-track progress-indeterminate'}
        role="progressbar"
        aria-label={label}
        aria-valuemin={known ? 0 : undefined}
        aria-valuemax={known ? 100 : undefined}
        aria-valuenow={known ? Math.round(ratio * 100) : undefined}
        aria-valuetext={known ? percent : t('progress.working')}
        data-testid="progress"
      >
        <div className="progress-fill" style={known ? { inlineSize: `${ratio * 100}%` } : undefined} />
      </div>
      {detail ? <div className="progress-detail muted small">{detail}</div> : null}
    </div>
  )
}
