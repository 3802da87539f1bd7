import { useState, type FormEvent } from 'react'
import { useAction } from '../../api/context'
import { Button } from '../../components/Button'
import { Field } from '../../components/Field'
import { InlineError } from '../../components/States'
import { useT } from '../../i18n/i18n'
import { AuthLayout } from './AuthLayout'

/** LoginPage signs in to `keygate serve` with email and password. */
export function LoginPage({ onSignedIn }: { onSignedIn: () => void }) {
  const t = useT()
  const login = useAction('Login')
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const submit = (e: FormEvent) => {
    e.preventDefault()
    login.mutate({ email: email.trim(), password }, { onSuccess: onSignedIn })
  }
  return (
    <AuthLayout title={t('auth.login.title')} description={t('auth.login.description')}>
      <form className="form" onSubmit={submit}>
        <Field label={t('auth.email')}>
          <input className="input" type="email" dir="ltr" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
        </Field>
        <Field label={t('auth.password')}>
          <input className="input" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        <InlineError error={login.error} />
        <Button type="submit" variant="primary" className="btn-block" pending={login.isPending}>{t('auth.login.submit')}</Button>
      </form>
    </AuthLayout>
  )
}
