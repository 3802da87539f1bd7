import { useState, type FormEvent } from 'react'
import { useAction } from '../../api/context'
import { Dialog } from '../../components/Dialog'
import { Field } from '../../components/Field'
import { Button } from '../../components/Button'
import { InlineError } from '../../components/States'
import { useT } from '../../i18n/i18n'

export function CreateOrgDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (id: string) => void }) {
  const t = useT()
  const create = useAction('CreateOrg', ['ListOrgs'])
  const [name, setName] = useState('')
  const [err, setErr] = useState('')
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const n = name.trim()
    if (!n) return setErr(t('validation.required'))
    setErr('')
    create.mutate({ name: n }, { onSuccess: (o) => onCreated(o.id) })
  }
  return (
    <Dialog
      title={t('org.create.title')}
      description={t('org.create.description')}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button variant="primary" type="submit" form="org-form" pending={create.isPending}>{t('org.create.submit')}</Button>
        </>
      }
    >
      <form id="org-form" className="form" onSubmit={submit} noValidate>
        <Field label={t('org.field.name')} error={err || create.error?.fieldError?.('name')}>
          <input className="input" value={name} onChange={(e) => setName(e.target.value)} maxLength={64} data-autofocus />
        </Field>
        {!create.error?.fieldError?.('name') ? <InlineError error={create.error} /> : null}
      </form>
    </Dialog>
  )
}
