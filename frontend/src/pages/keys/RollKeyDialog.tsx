import { useState, type FormEvent } from 'react'
import { useAction } from '../../api/context'
import type { CreatedKey, Key } from '../../api/types'
import { Dialog } from '../../components/Dialog'
import { Field } from '../../components/Field'
import { Button } from '../../components/Button'
import { InlineError } from '../../components/States'
import { useT } from '../../i18n/i18n'

const graces = [0, 3600, 86400, 7 * 86400] as const

/** RollKeyDialog gives a key a new secret; the old one keeps working for the chosen grace period. */
export function RollKeyDialog({ k, onClose, onRolled }: { k: Key; onClose: () => void; onRolled: (c: CreatedKey) => void }) {
  const t = useT()
  const roll = useAction('RollKey', ['ListKeys', 'GetKey'])
  const [grace, setGrace] = useState<number>(86400)
  const submit = (e: FormEvent) => {
    e.preventDefault()
    roll.mutate({ org: k.orgId, id: k.id, graceSeconds: grace }, { onSuccess: onRolled })
  }
  return (
    <Dialog
      title={t('keys.roll.title', { Name: k.name })}
      description={t('keys.roll.description')}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button variant="primary" type="submit" form="roll-form" pending={roll.isPending}>{t('keys.roll.submit')}</Button>
        </>
      }
    >
      <form id="roll-form" className="form" onSubmit={submit}>
        <p className="key-line"><code dir="ltr">{k.start}…</code> <bdi>{k.name}</bdi></p>
        <Field label={t('keys.roll.grace')} hint={t('keys.roll.grace.hint')}>
          <select className="input" value={grace} onChange={(e) => setGrace(Number(e.target.value))} data-autofocus>
            {graces.map((g) => <option key={g} value={g}>{t(`keys.roll.grace.${g}`)}</option>)}
          </select>
        </Field>
        <InlineError error={roll.error} />
      </form>
    </Dialog>
  )
}
