import { useState, type FormEvent } from 'react'
import { useAction } from '../../api/context'
import type { CreatedKey } from '../../api/types'
import { ApiError } from '../../api/error'
import { Dialog } from '../../components/Dialog'
import { Field } from '../../components/Field'
import { Button } from '../../components/Button'
import { InlineError } from '../../components/States'
import { useT } from '../../i18n/i18n'
import { expiryPresets, tomorrow, type ExpiryPreset } from './expiry'

interface Props {
  orgId: string
  onClose: () => void
  onCreated: (k: CreatedKey) => void
}

/** CreateKeyDialog asks for a name and an expiry; the secret is shown next, once. */
export function CreateKeyDialog({ orgId, onClose, onCreated }: Props) {
  const t = useT()
  const create = useAction('CreateKey', ['ListKeys'])
  const [name, setName] = useState('')
  const [preset, setPreset] = useState<ExpiryPreset>('never')
  const [date, setDate] = useState('')
  const [nameError, setNameError] = useState('')
  const [dateError, setDateError] = useState('')
  const formId = 'create-key-form'

  const submit = (e: FormEvent) => {
    e.preventDefault()
    const trimmed = name.trim()
    setNameError(trimmed ? '' : t('validation.key.name.empty'))
    const needDate = preset === 'custom' && !date
    setDateError(needDate ? t('keys.create.expiry.custom.required') : '')
    if (!trimmed || needDate) return
    create.mutate(
      { org: orgId, name: trimmed, expires: preset === 'custom' ? date : preset },
      { onSuccess: (k) => onCreated(k) },
    )
  }
  const server = create.error instanceof ApiError ? create.error : null
  const fieldMsg = (f: string) => server?.fieldError(f)

  return (
    <Dialog
      title={t('keys.create.title')}
      description={t('keys.create.description')}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button variant="primary" type="submit" form={formId} pending={create.isPending}>{t('keys.create.submit')}</Button>
        </>
      }
    >
      <form id={formId} className="form" onSubmit={submit} noValidate>
        <Field label={t('keys.field.name')} hint={t('keys.create.name.hint')} error={nameError || fieldMsg('name')}>
          <input className="input" value={name} onChange={(e) => setName(e.target.value)} maxLength={64} autoComplete="off" data-autofocus placeholder={t('keys.create.name.placeholder')} />
        </Field>
        <Field label={t('keys.field.expires')} error={fieldMsg('expires')}>
          <select className="input" value={preset} onChange={(e) => setPreset(e.target.value as ExpiryPreset)}>
            {expiryPresets.map((p) => <option key={p} value={p}>{t(`keys.expiry.${p}`)}</option>)}
          </select>
        </Field>
        {preset === 'custom' ? (
          <Field label={t('keys.create.expiry.custom.label')} error={dateError}>
            <input className="input" type="date" min={tomorrow()} value={date} onChange={(e) => setDate(e.target.value)} />
          </Field>
        ) : null}
        {create.error && !fieldMsg('name') && !fieldMsg('expires') ? <InlineError error={create.error} /> : null}
      </form>
    </Dialog>
  )
}
