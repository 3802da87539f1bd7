import type { FormEvent } from 'react'
import { useAction } from '../../api/context'
import type { Key } from '../../api/types'
import { Button } from '../../components/Button'
import { Dialog } from '../../components/Dialog'
import { InlineError } from '../../components/States'
import { useToast } from '../../components/Toasts'
import { useT } from '../../i18n/i18n'

/** DisableKeyDialog confirms switching a key off; unlike a revoke it can be undone (Enable). */
export function DisableKeyDialog({ k, onClose }: { k: Key; onClose: () => void }) {
  const t = useT()
  const toast = useToast()
  const disable = useAction('DisableKey', ['ListKeys', 'GetKey'])
  const submit = (e: FormEvent) => {
    e.preventDefault()
    disable.mutate({ org: k.orgId, id: k.id }, {
      onSuccess: () => {
        toast(t('keys.disable.done', { Name: k.name }))
        onClose()
      },
    })
  }
  return (
    <Dialog
      title={t('keys.disable.title', { Name: k.name })}
      description={t('keys.disable.description')}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose} data-autofocus>{t('common.cancel')}</Button>
          <Button variant="primary" type="submit" form="disable-form" pending={disable.isPending}>{t('keys.disable.submit')}</Button>
        </>
      }
    >
      <form id="disable-form" className="form" onSubmit={submit}>
        <p className="key-line"><code dir="ltr">{k.start}…</code> <bdi>{k.name}</bdi></p>
        <InlineError error={disable.error} />
      </form>
    </Dialog>
  )
}
