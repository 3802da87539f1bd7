import { useState } from 'react'
import { useAction, useOp } from '../../api/context'
import type { Route } from '../../api/types'
import { Button } from '../../components/Button'
import { Card } from '../../components/PageHeader'
import { EmptyState, ErrorState, InlineError, Loading } from '../../components/States'
import { Icon } from '../../components/Icon'
import { Dialog } from '../../components/Dialog'
import { useToast } from '../../components/Toasts'
import { useI18n } from '../../i18n/i18n'
import { RouteDialog } from './RouteDialog'

/** RoutesCard lists the gateway's routes; admins add, edit and remove them. */
export function RoutesCard({ admin }: { admin: boolean }) {
  const { t, number } = useI18n()
  const toast = useToast()
  const q = useOp('ListRoutes', {})
  const remove = useAction('RemoveRoute', ['ListRoutes'])
  const [editing, setEditing] = useState<Route | 'new' | null>(null)
  const [removing, setRemoving] = useState<Route | null>(null)
  const routes = q.data?.routes ?? []
  const yes = (b: boolean) => (b ? t('common.yes') : t('common.no'))
  return (
    <Card
      title={t('gateway.routes.title')}
      description={t('gateway.routes.description')}
      actions={admin ? <Button icon="plus" onClick={() => setEditing('new')}>{t('gateway.routes.add')}</Button> : null}
    >
      {q.isPending ? <Loading rows={3} /> : q.isError ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : routes.length === 0 ? (
        <EmptyState icon="gateway" title={t('gateway.routes.empty.title')}><p>{t('gateway.routes.empty.body')}</p></EmptyState>
      ) : (
        <div className="table-wrap table-flush">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t('gateway.route.prefix')}</th>
                <th scope="col">{t('gateway.route.upstream')}</th>
                <th scope="col">{t('gateway.route.openapi')}</th>
                <th scope="col">{t('gateway.route.strip')}</th>
                <th scope="col">{t('gateway.route.query_keys')}</th>
                <th scope="col">{t('gateway.route.body_limit')}</th>
                <th scope="col">{t('gateway.route.learning')}</th>
                {admin ? <th scope="col"><span className="sr-only">{t('common.actions')}</span></th> : null}
              </tr>
            </thead>
            <tbody>
              {routes.map((r) => (
                <tr key={r.id}>
                  <td><code dir="ltr">{r.prefix}</code></td>
                  <td className="truncate"><code dir="ltr">{r.upstream}</code></td>
                  <td className="truncate muted">{r.openapiSource ? <code dir="ltr">{r.openapiSource}</code> : '—'}</td>
                  <td>{yes(r.stripPrefix)}</td>
                  <td>{r.queryKeyParam ? <code dir="ltr">?{r.queryKeyParam}=</code> : t('common.no')}</td>
                  <td>{r.maxBodyBytes ? number(r.maxBodyBytes / 1024, { style: 'unit', unit: 'kilobyte', maximumFractionDigits: 0 }) : t('gateway.route.no_limit')}</td>
                  <td>{r.learn ? <span className="badge badge-accent">{t('gateway.route.learning.on')}</span> : t('common.no')}</td>
                  {admin ? (
                    <td className="cell-actions">
                      <button type="button" className="icon-btn" onClick={() => setEditing(r)} aria-label={t('gateway.routes.edit', { Prefix: r.prefix })}><Icon name="edit" /></button>
                      <button type="button" className="icon-btn icon-btn-danger" onClick={() => setRemoving(r)} aria-label={t('gateway.routes.remove', { Prefix: r.prefix })}><Icon name="trash" /></button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing ? <RouteDialog route={editing === 'new' ? null : editing} onClose={() => setEditing(null)} /> : null}
      {removing ? (
        <Dialog
          title={t('gateway.routes.remove.title', { Prefix: removing.prefix })}
          description={t('gateway.routes.remove.description')}
          onClose={() => setRemoving(null)}
          footer={
            <>
              <Button onClick={() => setRemoving(null)} data-autofocus>{t('common.cancel')}</Button>
              <Button variant="danger" pending={remove.isPending} onClick={() => remove.mutate({ id: removing.id }, { onSuccess: () => { toast(t('gateway.routes.removed')); setRemoving(null) } })}>{t('gateway.routes.remove.submit')}</Button>
            </>
          }
        >
          <InlineError error={remove.error} />
        </Dialog>
      ) : null}
    </Card>
  )
}
