import { useState, type FormEvent } from 'react'
import { useAction } from '../../api/context'
import type { Key } from '../../api/types'
import { Dialog } from '../../components/Dialog'
import { Field } from '../../components/Field'
import { Button } from '../../components/Button'
import { InlineError } from '../../components/States'
import { useT } from '../../i18n/i18n'

export function RenameKeyDialog({ k, onClose }: { k: Key; onClose: () => void }) {
  const t = useT()
  const rename = useAction('UpdateKey', ['ListKeys', 'GetKey'])
  const [name, setName] = useState(k.name)
  const [err, setErr] = useState('')
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const n = name.trim()
    if (!n) return setErr(t('validation.key.name.empty'))
    setErr('')
    rename.mutate({ org: k.orgId, id: k.id, name: n }, { onSuccess: onClose })
  }
  return (
    <Dialog
      title={t('keys.rename.title')}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button variant="primary" type="submit" form="rename-form" pending={rename.isPending}>{t('common.save')}</Button>
        </>
      }
    >
      <form id="rename-form" className="form" onSubmit={submit} noValidate>
        <Field label={t('keys.field.name')} error={err || rename.error?.fieldError?.('name')}>
          <input className="input" value={name} onChange={(e) => setName(e.target.value)} maxLength={64} data-autofocus />
        </Field>
        {!rename.error?.fieldError?.('name') ? <InlineError error={rename.error} /> : null}
      </form>
    </Dialog>
  )
}
