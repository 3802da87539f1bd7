import { useState, type FormEvent } from 'react'
import { useAction } from '../../api/context'
import type { CreatedWebhook } from '../../api/types'
import { Button } from '../../components/Button'
import { CopyButton } from '../../components/CopyButton'
import { Dialog } from '../../components/Dialog'
import { Field } from '../../components/Field'
import { Icon } from '../../components/Icon'
import { InlineError } from '../../components/States'
import { useToast } from '../../components/Toasts'
import { useT } from '../../i18n/i18n'

/** webhookEvents are the event types an endpoint may ask for, as the API names them. */
export const webhookEvents = [
  'key.created', 'key.updated', 'key.disabled', 'key.enabled', 'key.revoked', 'key.rolled',
  'key.expiring', 'key.expired', 'key.quota_exhausted',
] as const

/**
 * AddWebhookDialog adds an endpoint, then shows its signing secret the one time it exists
 * outside the database.
 */
export function AddWebhookDialog({ orgId, onClose }: { orgId: string; onClose: () => void }) {
  const t = useT()
  const toast = useToast()
  const add = useAction('AddWebhook', ['ListWebhooks'])
  const [url, setUrl] = useState('')
  const [events, setEvents] = useState<string[]>([])
  const [created, setCreated] = useState<CreatedWebhook | null>(null)
  const submit = (e: FormEvent) => {
    e.preventDefault()
    add.mutate({ org: orgId, url: url.trim(), events }, { onSuccess: (w) => { setCreated(w); toast(t('webhooks.added')) } })
  }
  const toggle = (ev: string, on: boolean) => setEvents((cur) => (on ? [...cur, ev] : cur.filter((x) => x !== ev)))

  if (created) {
    return (
      <Dialog
        title={t('webhooks.secret.title')}
        description={t('webhooks.secret.description')}
        onClose={onClose}
        wide
        footer={<Button variant="primary" onClick={onClose}>{t('common.done')}</Button>}
      >
        <div className="callout callout-warning" role="note">
          <Icon name="alert" />
          <p><code dir="ltr">{created.url}</code></p>
        </div>
        <div className="secret-box">
          <code className="secret" data-testid="webhook-secret" aria-label={t('webhooks.secret.title')}>{created.secret}</code>
          <CopyButton text={created.secret} secret variant="button" />
        </div>
      </Dialog>
    )
  }
  const urlError = add.error?.fieldError?.('url')
  const eventsError = add.error?.fieldError?.('events')
  return (
    <Dialog
      title={t('webhooks.add.title')}
      description={t('webhooks.add.description')}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button variant="primary" type="submit" form="webhook-form" pending={add.isPending}>{t('webhooks.add.submit')}</Button>
        </>
      }
    >
      <form id="webhook-form" className="form" onSubmit={submit} noValidate>
        <Field label={t('webhooks.field.url')} hint={t('webhooks.field.url.hint')} error={urlError}>
          <input className="input" type="url" dir="ltr" value={url} onChange={(e) => setUrl(e.target.value)} autoComplete="off" placeholder="https://" data-autofocus />
        </Field>
        <fieldset className="field" aria-describedby="webhook-events-hint">
          <legend className="field-label">{t('webhooks.field.events')}</legend>
          <div className="checks">
            {webhookEvents.map((ev) => (
              <label key={ev} className="check">
                <input type="checkbox" checked={events.includes(ev)} onChange={(e) => toggle(ev, e.target.checked)} />{' '}
                <code dir="ltr">{ev}</code>
              </label>
            ))}
          </div>
          <p id="webhook-events-hint" className="field-hint">{t('webhooks.field.events.hint')}</p>
          {eventsError ? <p className="field-error">{eventsError}</p> : null}
        </fieldset>
        {!urlError && !eventsError ? <InlineError error={add.error} /> : null}
      </form>
    </Dialog>
  )
}
