import { useState } from 'react'
import { useAction, useOp } from '../../api/context'
import type { WebhookEndpoint, WebhookStatus } from '../../api/types'
import { Button } from '../../components/Button'
import { Dialog } from '../../components/Dialog'
import { Icon } from '../../components/Icon'
import { Card, PageHeader } from '../../components/PageHeader'
import { EmptyState, ErrorState, InlineError, Loading } from '../../components/States'
import { HttpStatus } from '../../components/StatusBadge'
import { Time } from '../../components/Time'
import { useToast } from '../../components/Toasts'
import { useT } from '../../i18n/i18n'
import { useSession } from '../../session'
import { AddWebhookDialog } from './AddWebhookDialog'

const tone: Record<WebhookStatus, string> = { pending: 'warning', delivered: 'success', failed: 'danger' }

/** DeliveryStatus shows a delivery's status as a coloured pill. */
function DeliveryStatus({ status }: { status: WebhookStatus }) {
  const t = useT()
  return (
    <span className={`badge badge-${tone[status]}`}>
      <span className="badge-dot" aria-hidden="true" />
      {t(`webhooks.status.${status}`)}
    </span>
  )
}

/** WebhooksPage lists the organization's webhook endpoints and their deliveries; admins add and remove endpoints and resend deliveries. */
export function WebhooksPage() {
  const t = useT()
  const { org, can } = useSession()
  const admin = can('admin')
  const [adding, setAdding] = useState(false)
  return (
    <>
      <PageHeader
        title={t('webhooks.title')}
        description={t('webhooks.description')}
        actions={admin ? <Button variant="primary" icon="plus" onClick={() => setAdding(true)}>{t('webhooks.add.action')}</Button> : null}
      />
      <EndpointsCard orgId={org.id} admin={admin} />
      <DeliveriesCard orgId={org.id} admin={admin} />
      {adding ? <AddWebhookDialog orgId={org.id} onClose={() => setAdding(false)} /> : null}
    </>
  )
}

function EndpointsCard({ orgId, admin }: { orgId: string; admin: boolean }) {
  const t = useT()
  const toast = useToast()
  const q = useOp('ListWebhooks', { org: orgId })
  const remove = useAction('RemoveWebhook', ['ListWebhooks', 'ListWebhookDeliveries'])
  const [removing, setRemoving] = useState<WebhookEndpoint | null>(null)
  const endpoints = q.data?.endpoints ?? []
  return (
    <Card title={t('webhooks.endpoints.title')}>
      {q.isPending ? <Loading rows={2} /> : q.isError ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : endpoints.length === 0 ? (
        <EmptyState icon="send" title={t('webhooks.endpoints.empty.title')}><p>{t('webhooks.endpoints.empty.body')}</p></EmptyState>
      ) : (
        <div className="table-wrap table-flush">
          <table className="table" data-testid="webhook-endpoints">
            <thead>
              <tr>
                <th scope="col">{t('webhooks.field.url')}</th>
                <th scope="col">{t('webhooks.field.events')}</th>
                <th scope="col">{t('webhooks.field.created')}</th>
                {admin ? <th scope="col"><span className="sr-only">{t('common.actions')}</span></th> : null}
              </tr>
            </thead>
            <tbody>
              {endpoints.map((w) => (
                <tr key={w.id}>
                  <td className="truncate"><code dir="ltr">{w.url}</code></td>
                  <td>{w.events.length === 0 ? t('webhooks.events.all') : <code dir="ltr">{w.events.join(', ')}</code>}</td>
                  <td><Time value={w.createdAt} /></td>
                  {admin ? (
                    <td className="cell-actions">
                      <button type="button" className="icon-btn icon-btn-danger" onClick={() => setRemoving(w)} aria-label={t('webhooks.remove.action', { URL: w.url })}><Icon name="trash" /></button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {removing ? (
        <Dialog
          title={t('webhooks.remove.title')}
          description={t('webhooks.remove.description', { URL: removing.url })}
          onClose={() => setRemoving(null)}
          footer={
            <>
              <Button onClick={() => setRemoving(null)} data-autofocus>{t('common.cancel')}</Button>
              <Button variant="danger" pending={remove.isPending} onClick={() => remove.mutate({ org: orgId, id: removing.id }, { onSuccess: () => { toast(t('webhooks.removed')); setRemoving(null) } })}>{t('webhooks.remove.submit')}</Button>
            </>
          }
        >
          <InlineError error={remove.error} />
        </Dialog>
      ) : null}
    </Card>
  )
}

function DeliveriesCard({ orgId, admin }: { orgId: string; admin: boolean }) {
  const t = useT()
  const toast = useToast()
  const [status, setStatus] = useState<'all' | WebhookStatus>('all')
  const [endpointId, setEndpointId] = useState('')
  const endpoints = useOp('ListWebhooks', { org: orgId }).data?.endpoints ?? []
  // Deliveries change on their own (the worker sends and retries): refresh every few seconds.
  const q = useOp('ListWebhookDeliveries', { org: orgId, status, endpointId, limit: 100 }, { refetchInterval: 3000 })
  const retry = useAction('RetryWebhookDelivery', ['ListWebhookDeliveries'])
  const deliveries = q.data?.deliveries ?? []
  return (
    <Card
      title={t('webhooks.deliveries.title')}
      description={t('webhooks.deliveries.description')}
      actions={
        <div className="filters">
          <label className="filter">
            <span>{t('webhooks.deliveries.filter.status')}</span>
            <select className="input input-sm" value={status} onChange={(e) => setStatus(e.target.value as 'all' | WebhookStatus)}>
              <option value="all">{t('webhooks.deliveries.all')}</option>
              {(['pending', 'delivered', 'failed'] as const).map((s) => <option key={s} value={s}>{t(`webhooks.status.${s}`)}</option>)}
            </select>
          </label>
          <label className="filter">
            <span>{t('webhooks.deliveries.filter.endpoint')}</span>
            <select className="input input-sm" value={endpointId} onChange={(e) => setEndpointId(e.target.value)}>
              <option value="">{t('webhooks.deliveries.all')}</option>
              {endpoints.map((w) => <option key={w.id} value={w.id} dir="ltr">{w.url}</option>)}
            </select>
          </label>
        </div>
      }
    >
      <InlineError error={retry.error} />
      {q.isPending ? <Loading rows={3} /> : q.isError ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : deliveries.length === 0 ? (
        <EmptyState icon="send" title={t('webhooks.deliveries.empty')} />
      ) : (
        <div className="table-wrap table-flush">
          <table className="table" data-testid="webhook-deliveries">
            <thead>
              <tr>
                <th scope="col">{t('webhooks.col.event')}</th>
                <th scope="col">{t('webhooks.col.endpoint')}</th>
                <th scope="col">{t('webhooks.col.status')}</th>
                <th scope="col">{t('webhooks.col.attempts')}</th>
                <th scope="col">{t('webhooks.col.answer')}</th>
                <th scope="col">{t('webhooks.col.time')}</th>
                <th scope="col">{t('webhooks.col.next')}</th>
                {admin ? <th scope="col"><span className="sr-only">{t('common.actions')}</span></th> : null}
              </tr>
            </thead>
            <tbody>
              {deliveries.map((d) => (
                <tr key={d.id} data-event={d.event} data-status={d.status}>
                  <td><code dir="ltr">{d.event}</code></td>
                  <td className="truncate muted"><code dir="ltr">{d.url}</code></td>
                  <td><DeliveryStatus status={d.status} /></td>
                  <td>{d.attempts}</td>
                  <td>{d.lastStatus ? <HttpStatus code={d.lastStatus} /> : d.lastError ? <span className="muted truncate" title={d.lastError} dir="ltr">{d.lastError}</span> : d.attempts ? t('webhooks.answer.none') : '—'}</td>
                  <td><Time value={d.createdAt} /></td>
                  <td>{d.nextAttemptAt ? <Time value={d.nextAttemptAt} /> : '—'}</td>
                  {admin ? (
                    <td className="cell-actions">
                      {d.status !== 'pending' ? (
                        <Button size="sm" onClick={() => retry.mutate({ org: orgId, id: d.id }, { onSuccess: () => toast(t('webhooks.retried')) })} aria-label={t('webhooks.retry.label', { Event: d.event })}>{t('webhooks.retry.action')}</Button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  )
}
