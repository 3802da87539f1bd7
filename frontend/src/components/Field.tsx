import { cloneElement, useId, type ReactElement, type ReactNode } from 'react'

interface Props {
  label: ReactNode
  hint?: ReactNode
  error?: string
  children: ReactElement<Record<string, unknown>>
}

/** Field labels one control and ties its hint and error to it for assistive technology. */
export function Field({ label, hint, error, children }: Props) {
  const id = useId()
  const hintId = hint ? `${id}-hint` : undefined
  const errId = error ? `${id}-err` : undefined
  const control = cloneElement(children, {
    id,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': [hintId, errId].filter(Boolean).join(' ') || undefined,
  })
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      <label htmlFor={id} className="field-label">{label}</label>
      {control}
      {hint ? <p id={hintId} className="field-hint">{hint}</p> : null}
      {error ? <p id={errId} className="field-error">{error}</p> : null}
    </div>
  )
}
