import { useEffect, useRef, useState } from 'react'
import { useT } from '../i18n/i18n'
import { Icon } from './Icon'
import { clearClipboardLater, writeClipboard } from './clipboard'

interface Props {
  text: string
  label?: string
  /** secret: clear the clipboard 60 s after copying. */
  secret?: boolean
  onCopied?: () => void
  variant?: 'icon' | 'button'
}

/** CopyButton copies text and says so; a copied secret is cleared from the clipboard after 60 s. */
export function CopyButton({ text, label, secret, onCopied, variant = 'icon' }: Props) {
  const t = useT()
  const [copied, setCopied] = useState(false)
  const [failed, setFailed] = useState(false)
  const timer = useRef<number | undefined>(undefined)
  useEffect(() => () => window.clearTimeout(timer.current), [])

  const copy = async () => {
    try {
      await writeClipboard(text)
      setCopied(true)
      setFailed(false)
      if (secret) clearClipboardLater(text)
      onCopied?.()
      window.clearTimeout(timer.current)
      timer.current = window.setTimeout(() => setCopied(false), 2000)
    } catch {
      setFailed(true)
    }
  }
  const name = label ?? t('common.copy')
  const status = copied ? t('common.copied') : failed ? t('common.copy_failed') : ''
  if (variant === 'button') {
    return (
      <button type="button" className="btn btn-secondary btn-sm" onClick={copy}>
        <Icon name={copied ? 'check' : 'copy'} />
        {copied ? t('common.copied') : name}
        <span className="sr-only" aria-live="polite">{status}</span>
      </button>
    )
  }
  return (
    <button type="button" className={`icon-btn${copied ? ' is-done' : ''}`} onClick={copy} aria-label={name} title={name}>
      <Icon name={copied ? 'check' : 'copy'} />
      <span className="sr-only" aria-live="polite">{status}</span>
    </button>
  )
}
