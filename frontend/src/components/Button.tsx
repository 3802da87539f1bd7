import type { ButtonHTMLAttributes, ReactNode } from 'react'
import { Icon, type IconName } from './Icon'

type Variant = 'primary' | 'secondary' | 'danger' | 'ghost'

interface Props extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: Variant
  size?: 'sm' | 'md'
  icon?: IconName
  pending?: boolean
  children?: ReactNode
}

/** Button is the one button; pending disables it and shows a spinner while a call runs. */
export function Button({ variant = 'secondary', size = 'md', icon, pending, disabled, children, className, type = 'button', ...rest }: Props) {
  const cls = ['btn', `btn-${variant}`, size === 'sm' ? 'btn-sm' : '', className ?? ''].filter(Boolean).join(' ')
  return (
    <button type={type} className={cls} disabled={disabled || pending} aria-busy={pending || undefined} {...rest}>
      {pending ? <span className="spinner" aria-hidden="true" /> : icon ? <Icon name={icon} /> : null}
      {children}
    </button>
  )
}
