import { useEffect, useId, useRef, type ReactNode } from 'react'
import { createPortal } from 'react-dom'
import { useT } from '../i18n/i18n'
import { Icon } from './Icon'

const focusable = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'

interface Props {
  title: ReactNode
  description?: ReactNode
  onClose: () => void
  children: ReactNode
  footer?: ReactNode
  /** wide makes room for code snippets. */
  wide?: boolean
  /** variant "drawer" slides in from the inline end. */
  variant?: 'modal' | 'drawer'
  /** dismissable false ignores Escape and outside clicks (the show-once dialog asks first). */
  dismissable?: boolean
}

/**
 * Dialog is an accessible modal: it moves focus inside when it opens, keeps Tab inside, closes on
 * Escape and gives focus back to what had it before.
 */
export function Dialog({ title, description, onClose, children, footer, wide, variant = 'modal', dismissable = true }: Props) {
  const t = useT()
  const ref = useRef<HTMLDivElement>(null)
  const titleId = useId()
  const descId = useId()
  const onCloseRef = useRef(onClose)
  onCloseRef.current = onClose
  const dismissRef = useRef(dismissable)
  dismissRef.current = dismissable

  useEffect(() => {
    const before = document.activeElement as HTMLElement | null
    const el = ref.current
    const first = el?.querySelector<HTMLElement>('[data-autofocus]') ?? el?.querySelector<HTMLElement>(focusable)
    ;(first ?? el)?.focus()
    const onKey = (e: KeyboardEvent) => {
      if (!el) return
      if (e.key === 'Escape') {
        e.stopPropagation()
        if (dismissRef.current) onCloseRef.current()
        return
      }
      if (e.key !== 'Tab') return
      const items = Array.from(el.querySelectorAll<HTMLElement>(focusable)).filter((x) => !x.closest('[hidden]'))
      if (items.length === 0) {
        e.preventDefault()
        return
      }
      const firstItem = items[0]
      const last = items[items.length - 1]
      if (e.shiftKey && (document.activeElement === firstItem || !el.contains(document.activeElement))) {
        e.preventDefault()
        last.focus()
      } else if (!e.shiftKey && (document.activeElement === last || !el.contains(document.activeElement))) {
        e.preventDefault()
        firstItem.focus()
      }
    }
    document.addEventListener('keydown', onKey, true)
    document.body.classList.add('modal-open')
    return () => {
      document.removeEventListener('keydown', onKey, true)
      document.body.classList.remove('modal-open')
      if (before && document.contains(before)) before.focus()
    }
  }, [])

  return createPortal(
    <div className={`overlay overlay-${variant}`} onMouseDown={(e) => { if (e.target === e.currentTarget && dismissRef.current) onClose() }}>
      <div
        ref={ref}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={description ? descId : undefined}
        className={`dialog dialog-${variant}${wide ? ' dialog-wide' : ''}`}
        tabIndex={-1}
      >
        <header className="dialog-header">
          <div>
            <h2 id={titleId} className="dialog-title">{title}</h2>
            {description ? <p id={descId} className="dialog-description">{description}</p> : null}
          </div>
          {dismissable ? (
            <button type="button" className="icon-btn" onClick={onClose} aria-label={t('common.close')}>
              <Icon name="x" />
            </button>
          ) : null}
        </header>
        <div className="dialog-body">{children}</div>
        {footer ? <footer className="dialog-footer">{footer}</footer> : null}
      </div>
    </div>,
    document.body,
  )
}
