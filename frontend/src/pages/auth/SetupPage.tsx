import { useState, type FormEvent } from 'react'
import { useAction } from '../../api/context'
import { Button } from '../../components/Button'
import { Field } from '../../components/Field'
import { InlineError } from '../../components/States'
import { useT } from '../../i18n/i18n'
import { AuthLayout } from './AuthLayout'

/** setupToken reads the one-time token from the setup link: /setup?token=… or #token=…. */
export function setupToken(loc: Location = window.location): string {
  const q = new URLSearchParams(loc.search).get('token')
  if (q) return q
  return new URLSearchParams(loc.hash.replace(/^#/, '')).get('token') ?? ''
}

/** SetupPage creates the first admin from the one-time link `keygate serve` prints. */
export function SetupPage({ onDone }: { onDone: () => void }) {
  const t = useT()
  const [token] = useState(setupToken)
  const setup = useAction('CompleteSetup')
  const [v, setV] = useState({ email: '', name: '', password: '', confirm: '' })
  const [errs, setErrs] = useState<Record<string, string>>({})
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const next: Record<string, string> = {}
    if (!/^\S+@\S+\.\S+$/.test(v.email.trim())) next.email = t('members.email.invalid')
    if (v.password.length < 10) next.password = t('auth.password.too_short', { Count: 10 })
    if (v.password !== v.confirm) next.confirm = t('auth.password.mismatch')
    setErrs(next)
    if (Object.keys(next).length) return
    setup.mutate({ token, email: v.email.trim(), name: v.name.trim(), password: v.password }, {
      onSuccess: () => {
        window.history.replaceState(null, '', '/keys')
        onDone()
      },
    })
  }
  const fe = (f: string) => errs[f] || setup.error?.fieldError?.(f)
  if (!token) {
    return (
      <AuthLayout title={t('auth.setup.title')} description={t('auth.setup.no_token')}>
        <pre className="code-inline" dir="ltr"><code>{'keygate serve'}</code></pre>
      </AuthLayout>
    )
  }
  return (
    <AuthLayout title={t('auth.setup.title')} description={t('auth.setup.description')}>
      <form className="form" onSubmit={submit} noValidate>
        <Field label={t('auth.email')} error={fe('email')}>
          <input className="input" type="email" dir="ltr" autoComplete="username" value={v.email} onChange={(e) => setV({ ...v, email: e.target.value })} autoFocus />
        </Field>
        <Field label={t('auth.name')} error={fe('name')}>
          <input className="input" autoComplete="name" value={v.name} onChange={(e) => setV({ ...v, name: e.target.value })} />
        </Field>
        <Field label={t('auth.password')} hint={t('auth.password.hint', { Count: 10 })} error={fe('password')}>
          <input className="input" type="password" autoComplete="new-password" value={v.password} onChange={(e) => setV({ ...v, password: e.target.value })} />
        </Field>
        <Field label={t('auth.password.confirm')} error={fe('confirm')}>
          <input className="input" type="password" autoComplete="new-password" value={v.confirm} onChange={(e) => setV({ ...v, confirm: e.target.value })} />
        </Field>
        {!['email', 'name', 'password'].some((f) => setup.error?.fieldError?.(f)) ? <InlineError error={setup.error} /> : null}
        <Button type="submit" variant="primary" className="btn-block" pending={setup.isPending}>{t('auth.setup.submit')}</Button>
      </form>
    </AuthLayout>
  )
}
