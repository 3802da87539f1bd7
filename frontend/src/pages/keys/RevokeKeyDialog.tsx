import { useState, type FormEvent } from 'react'
import { useAction } from '../../api/context'
import type { Key } from '../../api/types'
import { Dialog } from '../../components/Dialog'
import { Field } from '../../components/Field'
import { Button } from '../../components/Button'
import { InlineError } from '../../components/States'
import { useToast } from '../../components/Toasts'
import { useT } from '../../i18n/i18n'
import { forgetKey } from '../../keyring'

/** RevokeKeyDialog confirms a revocation, naming the key; it cannot be undone. */
export function RevokeKeyDialog({ k, onClose }: { k: Key; onClose: () => void }) {
  const t = useT()
  const toast = useToast()
  const revoke = useAction('RevokeKey', ['ListKeys', 'GetKey'])
  const [reason, setReason] = useState('')
  const submit = (e: FormEvent) => {
    e.preventDefault()
    revoke.mutate({ org: k.orgId, id: k.id, reason: reason.trim() }, {
      onSuccess: () => {
        forgetKey(k.id)
        toast(t('keys.revoke.done', { Name: k.name }))
        onClose()
      },
    })
  }
  return (
    <Dialog
      title={t('keys.revoke.title', { Name: k.name })}
      description={t('keys.revoke.description')}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose} data-autofocus>{t('common.cancel')}</Button>
          <Button variant="danger" type="submit" form="revoke-form" pending={revoke.isPending}>{t('keys.revoke.submit')}</Button>
        </>
      }
    >
      <form id="revoke-form" className="form" onSubmit={submit}>
        <p className="key-line"><code dir="ltr">{k.start}…</code> <bdi>{k.name}</bdi></p>
        <Field label={t('keys.revoke.reason')} hint={t('common.optional')}>
          <input className="input" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={200} />
        </Field>
        <InlineError error={revoke.error} />
      </form>
    </Dialog>
  )
}
