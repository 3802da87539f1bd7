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

/** RouteScopes shows the scopes every request on a route needs, and whether its OpenAPI document asks for more per operation. */
function RouteScopes({ route }: { route: Route }) {
  const { t } = useI18n()
  const d = route.documentScopes
  const declared = [...new Set([...(d?.default ?? []), ...(d?.operations ?? []).flatMap((o) => o.scopes)])].sort()
  if (!route.scopes?.length && !declared.length) return <span className="muted">—</span>
  return (
    <ul className="chips" data-testid={`route-scopes-${route.prefix}`}>
      {(route.scopes ?? []).map((s) => <li key={s} className="chip" dir="ltr">{s}</li>)}
      {declared.length ? <li className="muted" title={declared.join(', ')}>{t('gateway.routes.scopes.document')}</li> : null}
    </ul>
  )
}

/** RouteOptions shows what a route does beyond forwarding, one badge each; none is "—". */
function RouteOptions({ route: r }: { route: Route }) {
  const { t, number } = useI18n()
  const badges = [
    r.identityJwt ? <li key="identity" className="badge" title={t('gateway.route.identity_jwt')}>{t('gateway.routes.identity')}</li> : null,
    r.stripPrefix ? <li key="strip" className="badge">{t('gateway.route.strip')}</li> : null,
    r.queryKeyParam ? <li key="query" className="badge" title={t('gateway.route.query_keys')}><code dir="ltr">?{r.queryKeyParam}=</code></li> : null,
    r.maxBodyBytes ? <li key="body" className="badge">{t('gateway.routes.option.body_limit', { Size: number(r.maxBodyBytes / 1024, { style: 'unit', unit: 'kilobyte', maximumFractionDigits: 0 }) })}</li> : null,
    r.learn ? <li key="learn" className="badge badge-accent">{t('gateway.route.learning')}</li> : null,
  ].filter(Boolean)
  if (!badges.length) return <span className="muted">—</span>
  return <ul className="chips" data-testid={`route-options-${r.prefix}`}>{badges}</ul>
}

/** RoutesCard lists the gateway's routes; admins add, edit and remove them. */
export function RoutesCard({ admin }: { admin: boolean }) {
  const { t } = useI18n()
  const toast = useToast()
  const q = useOp('ListRoutes', {})
  const remove = useAction('RemoveRoute', ['ListRoutes'])
  const [editing, setEditing] = useState<Route | 'new' | null>(null)
  const [removing, setRemoving] = useState<Route | null>(null)
  const routes = q.data?.routes ?? []
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
                <th scope="col">{t('gateway.routes.col.scopes')}</th>
                <th scope="col">{t('gateway.routes.col.options')}</th>
                {admin ? <th scope="col"><span className="sr-only">{t('common.actions')}</span></th> : null}
              </tr>
            </thead>
            <tbody>
              {routes.map((r) => (
                <tr key={r.id}>
                  <td><code dir="ltr">{r.prefix}</code></td>
                  <td className="truncate"><code dir="ltr">{r.upstream}</code></td>
                  <td className="truncate muted">{r.openapiSource ? <code dir="ltr">{r.openapiSource}</code> : '—'}</td>
                  <td><RouteScopes route={r} /></td>
                  <td><RouteOptions route={r} /></td>
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
