import { useState } from 'react'
import { useInfiniteQuery } from '@tanstack/react-query'
import { useApi } from '../../api/context'
import type { AuditEntry } from '../../api/types'
import { Button } from '../../components/Button'
import { PageHeader } from '../../components/PageHeader'
import { EmptyState, ErrorState, InlineError, Loading } from '../../components/States'
import { Time } from '../../components/Time'
import { TimeRange, anyTime, rangeError, type TimeRangeValue } from '../../components/TimeRange'
import type { Column } from '../../export/export'
import { ExportMenu } from '../../export/ExportMenu'
import { useT } from '../../i18n/i18n'
import { useSession } from '../../session'

/** knownActions are the actions the audit log records (backend/audit and the lanes' own). */
const knownActions = [
  'key.create', 'key.update', 'key.rename', 'key.disable', 'key.enable', 'key.revoke', 'key.roll', 'key.import', 'key.export',
  'org.create', 'org.rename', 'member.invite', 'member.add', 'member.role', 'member.remove',
  'invitation.accept', 'invitation.decline', 'user.create', 'user.remove', 'user.password',
  'route.add', 'route.update', 'route.remove', 'settings.update', 'gateway.start', 'gateway.stop',
  'webhook.add', 'webhook.remove', 'webhook.retry', 'login', 'login.fail', 'logout', 'setup.complete',
  'preferences.update', 'access.denied', 'store.backup',
]

/** auditColumns are the exported fields: what the table shows, with ids and e-mail addresses. */
export const auditColumns: Column<AuditEntry>[] = [
  { name: 'id', value: (e) => e.id },
  { name: 'at', value: (e) => e.at },
  { name: 'actor', value: (e) => e.actor },
  { name: 'actorEmail', value: (e) => e.actorEmail },
  { name: 'orgId', value: (e) => e.orgId },
  { name: 'action', value: (e) => e.action },
  { name: 'target', value: (e) => e.target },
  { name: 'detail', value: (e) => e.detail },
  { name: 'clientAddr', value: (e) => e.clientAddr },
]

/** auditPageSize is how many entries the screen asks for at a time (ListAudit takes up to 500). */
export const auditPageSize = 200

/**
 * AuditPage lists management actions, newest first, by action, actor and time, with an export
 * of what is shown. It loads a page at a time: "Load more" asks for the entries before the
 * oldest shown (ListAudit's before/nextBefore cursor), so every entry the log keeps is reachable.
 */
export function AuditPage() {
  const t = useT()
  const { org } = useSession()
  const [action, setAction] = useState('')
  const [actor, setActor] = useState('')
  const [range, setRange] = useState<TimeRangeValue>(anyTime)
  const bad = rangeError(range) !== undefined
  const api = useApi()
  const input = { org: org.id, limit: auditPageSize, action: action || undefined, actor: actor.trim() || undefined,
    from: bad ? undefined : range.from, to: bad ? undefined : range.to }
  // Keyed under ListAudit, so what invalidates the audit log (an import, …) reloads it.
  const q = useInfiniteQuery({
    queryKey: ['ListAudit', input, 'pages'],
    queryFn: ({ pageParam }) => api.call('ListAudit', { ...input, before: pageParam || undefined }),
    initialPageParam: 0,
    getNextPageParam: (last) => last.nextBefore || undefined,
  })
  const entries = q.data?.pages.flatMap((p) => p.entries ?? []) ?? []
  const label = (a: string) => {
    const id = `audit.action.${a}`
    const s = t(id)
    return s === id ? a : s
  }
  const actions = [...new Set([...knownActions, ...entries.map((e) => e.action)])]
  return (
    <>
      <PageHeader title={t('audit.title')} description={t('audit.description')} />
      <div className="toolbar filters">
        <label className="filter">
          <span>{t('audit.filter.action')}</span>
          <select className="input input-sm" value={action} onChange={(e) => setAction(e.target.value)} data-testid="audit-action">
            <option value="">{t('audit.filter.any')}</option>
            {actions.map((a) => <option key={a} value={a}>{label(a)}</option>)}
          </select>
        </label>
        <label className="filter">
          <span>{t('audit.filter.actor')}</span>
          <input className="input input-sm" type="search" value={actor} onChange={(e) => setActor(e.target.value)} placeholder={t('audit.filter.actor.placeholder')} maxLength={256} data-testid="audit-actor" />
        </label>
        <TimeRange value={range} onChange={setRange} />
        <span className="toolbar-end">
          <ExportMenu what="audit" rows={entries} columns={auditColumns} />
        </span>
      </div>
      {q.isPending ? <Loading /> : !q.data ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : entries.length === 0 ? (
        <EmptyState icon="scroll" title={t('audit.empty.title')}><p>{t('audit.empty.body')}</p></EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t('audit.field.time')}</th>
                <th scope="col">{t('audit.field.actor')}</th>
                <th scope="col">{t('audit.field.action')}</th>
                <th scope="col">{t('audit.field.target')}</th>
                <th scope="col">{t('audit.field.client')}</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}>
                  <td><Time value={e.at} /></td>
                  <td className="truncate"><bdi>{e.actorEmail || e.actor}</bdi></td>
                  <td><span className="action-tag">{label(e.action)}</span> {e.detail ? <bdi className="muted small">{e.detail}</bdi> : null}</td>
                  <td className="truncate"><code dir="ltr">{e.target || '—'}</code></td>
                  <td><code className="muted" dir="ltr">{e.clientAddr || '—'}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
          {q.hasNextPage || q.isFetchingNextPage ? (
            <div className="table-more">
              <Button onClick={() => q.fetchNextPage()} pending={q.isFetchingNextPage} data-testid="audit-more">{t('common.load_more')}</Button>
            </div>
          ) : null}
          {q.isFetchNextPageError ? <InlineError error={q.error} /> : null}
        </div>
      )}
    </>
  )
}
