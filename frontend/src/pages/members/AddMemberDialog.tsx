import { useState, type FormEvent } from 'react'
import { useAction } from '../../api/context'
import type { Role } from '../../api/types'
import { Dialog } from '../../components/Dialog'
import { Field } from '../../components/Field'
import { Button } from '../../components/Button'
import { InlineError } from '../../components/States'
import { useToast } from '../../components/Toasts'
import { useT } from '../../i18n/i18n'

export const roles: Role[] = ['admin', 'developer', 'member']

export function AddMemberDialog({ orgId, onClose }: { orgId: string; onClose: () => void }) {
  const t = useT()
  const toast = useToast()
  const add = useAction('AddMember', ['ListMembers'])
  const [v, setV] = useState({ email: '', name: '', role: 'developer' as Role, password: '' })
  const [errs, setErrs] = useState<Record<string, string>>({})
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const next: Record<string, string> = {}
    if (!/^\S+@\S+\.\S+$/.test(v.email.trim())) next.email = t('members.email.invalid')
    setErrs(next)
    if (Object.keys(next).length) return
    add.mutate({ org: orgId, ...v, email: v.email.trim(), name: v.name.trim() }, { onSuccess: (m) => { if (m.invited) toast(t('members.invited', { Email: m.email })); onClose() } })
  }
  const fe = (f: string) => errs[f] || add.error?.fieldError?.(f)
  return (
    <Dialog
      title={t('members.add.title')}
      description={t('members.add.description')}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button variant="primary" type="submit" form="member-form" pending={add.isPending}>{t('members.add.submit')}</Button>
        </>
      }
    >
      <form id="member-form" className="form" onSubmit={submit} noValidate>
        <Field label={t('members.field.email')} error={fe('email')}>
          <input className="input" type="email" dir="ltr" value={v.email} onChange={(e) => setV({ ...v, email: e.target.value })} autoComplete="off" data-autofocus />
        </Field>
        <Field label={t('members.field.name')} error={fe('name')}>
          <input className="input" value={v.name} onChange={(e) => setV({ ...v, name: e.target.value })} autoComplete="off" />
        </Field>
        <Field label={t('members.field.role')} hint={t(`members.role.${v.role}.hint`)}>
          <select className="input" value={v.role} onChange={(e) => setV({ ...v, role: e.target.value as Role })}>
            {roles.map((r) => <option key={r} value={r}>{t(`role.${r}`)}</option>)}
          </select>
        </Field>
        <Field label={t('members.field.password')} hint={t('members.password.hint')} error={fe('password')}>
          <input className="input" type="password" value={v.password} onChange={(e) => setV({ ...v, password: e.target.value })} autoComplete="new-password" />
        </Field>
        {!['email', 'name', 'password', 'role'].some((f) => add.error?.fieldError?.(f)) ? <InlineError error={add.error} /> : null}
      </form>
    </Dialog>
  )
}
