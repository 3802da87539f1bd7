import { useState, type FormEvent } from 'react'
import { useAction } from '../../api/context'
import { Button } from '../../components/Button'
import { Field } from '../../components/Field'
import { Icon } from '../../components/Icon'
import { InlineError } from '../../components/States'
import { useT } from '../../i18n/i18n'
import { useRouter } from '../../router'
import { AuthLayout } from './AuthLayout'
import { setupToken } from './SetupPage'

/**
 * ResetPasswordPage sets a new password with the one-time link an admin issued
 * (/reset-password#token=…; the fragment never reaches a server or a log).
 */
export function ResetPasswordPage({ onDone }: { onDone: () => void }) {
  const t = useT()
  // Read once, then drop the token from the address bar and the history.
  const [token] = useState(() => {
    const tok = setupToken()
    if (tok) window.history.replaceState(null, '', window.location.pathname)
    return tok
  })
  const reset = useAction('ResetPassword')
  const { navigate } = useRouter()
  const [v, setV] = useState({ password: '', confirm: '' })
  const [errs, setErrs] = useState<Record<string, string>>({})
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const next: Record<string, string> = {}
    if ([...v.password].length < 10) next.password = t('auth.password.too_short', { Count: 10 })
    if (v.password !== v.confirm) next.confirm = t('auth.password.mismatch')
    setErrs(next)
    if (Object.keys(next).length) return
    reset.mutate({ token, password: v.password })
  }
  const fe = (f: string) => errs[f] || reset.error?.fieldError?.(f)
  const tokenError = reset.error?.fieldError?.('token')
  if (!token) {
    return <AuthLayout title={t('auth.reset.title')} description={t('auth.reset.no_token')}>{null}</AuthLayout>
  }
  if (reset.isSuccess) {
    return (
      <AuthLayout title={t('auth.reset.title')} description={t('auth.reset.done')}>
        <Button variant="primary" className="btn-block" data-autofocus onClick={() => {
          navigate('/login', true)
          onDone()
        }}>{t('auth.login.submit')}</Button>
      </AuthLayout>
    )
  }
  return (
    <AuthLayout title={t('auth.reset.title')} description={t('auth.reset.description')}>
      <form className="form" onSubmit={submit} noValidate>
        <Field label={t('prefs.password.new')} hint={t('auth.password.hint', { Count: 10 })} error={fe('password')}>
          <input className="input" type="password" autoComplete="new-password" value={v.password} onChange={(e) => setV({ ...v, password: e.target.value })} autoFocus />
        </Field>
        <Field label={t('auth.password.confirm')} error={fe('confirm')}>
          <input className="input" type="password" autoComplete="new-password" value={v.confirm} onChange={(e) => setV({ ...v, confirm: e.target.value })} />
        </Field>
        {/* A bad token is the whole link's fault: say so above the button. */}
        {tokenError ? (
          <div className="inline-error" role="alert"><Icon name="alert" /><span>{tokenError}</span></div>
        ) : !reset.error?.fieldError?.('password') ? <InlineError error={reset.error} /> : null}
        <Button type="submit" variant="primary" className="btn-block" pending={reset.isPending}>{t('auth.reset.submit')}</Button>
      </form>
    </AuthLayout>
  )
}
