import { useState, type FormEvent } from 'react'
import { useAction } from '../../api/context'
import { Button } from '../../components/Button'
import { Field } from '../../components/Field'
import { Card } from '../../components/PageHeader'
import { InlineError } from '../../components/States'
import { useToast } from '../../components/Toasts'
import { useT } from '../../i18n/i18n'
import { useSession } from '../../session'

const empty = { current: '', next: '', confirm: '' }

/** ChangePasswordCard changes the signed-in user's password; their other sessions end. */
export function ChangePasswordCard() {
  const t = useT()
  const toast = useToast()
  const { user } = useSession()
  const change = useAction('ChangePassword')
  const [v, setV] = useState(empty)
  const [errs, setErrs] = useState<Record<string, string>>({})
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const next: Record<string, string> = {}
    if (!v.current) next.currentPassword = t('validation.required')
    if ([...v.next].length < 10) next.newPassword = t('auth.password.too_short', { Count: 10 })
    if (v.next !== v.confirm) next.confirm = t('auth.password.mismatch')
    setErrs(next)
    if (Object.keys(next).length) return
    change.mutate({ currentPassword: v.current, newPassword: v.next }, {
      onSuccess: () => {
        setV(empty)
        toast(t('prefs.password.changed'))
      },
    })
  }
  const fe = (f: string) => errs[f] || change.error?.fieldError?.(f)
  const fieldErr = ['currentPassword', 'newPassword'].some((f) => change.error?.fieldError?.(f))
  return (
    <Card title={t('prefs.password.title')} description={t('prefs.password.description')}>
      <form className="form form-narrow" onSubmit={submit} noValidate data-testid="change-password">
        {/* The account's address lets password managers file the new password under it. */}
        <input type="email" autoComplete="username" value={user.email} readOnly hidden />
        <Field label={t('prefs.password.current')} error={fe('currentPassword')}>
          <input className="input" type="password" autoComplete="current-password" value={v.current} onChange={(e) => setV({ ...v, current: e.target.value })} />
        </Field>
        <Field label={t('prefs.password.new')} hint={t('auth.password.hint', { Count: 10 })} error={fe('newPassword')}>
          <input className="input" type="password" autoComplete="new-password" value={v.next} onChange={(e) => setV({ ...v, next: e.target.value })} />
        </Field>
        <Field label={t('auth.password.confirm')} error={fe('confirm')}>
          <input className="input" type="password" autoComplete="new-password" value={v.confirm} onChange={(e) => setV({ ...v, confirm: e.target.value })} />
        </Field>
        {!fieldErr ? <InlineError error={change.error} /> : null}
        <div>
          <Button type="submit" variant="primary" pending={change.isPending}>{t('prefs.password.submit')}</Button>
        </div>
      </form>
    </Card>
  )
}
