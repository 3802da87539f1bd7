import { useOp } from '../../api/context'
import { PageHeader } from '../../components/PageHeader'
import { EmptyState, ErrorState, Loading } from '../../components/States'
import { Time } from '../../components/Time'
import { useT } from '../../i18n/i18n'
import { useSession } from '../../session'

/** AuditPage lists management actions, newest first. */
export function AuditPage() {
  const t = useT()
  const { org } = useSession()
  const q = useOp('ListAudit', { org: org.id, limit: 200 })
  const entries = q.data?.entries ?? []
  const action = (a: string) => {
    const id = `audit.action.${a}`
    const s = t(id)
    return s === id ? a : s
  }
  return (
    <>
      <PageHeader title={t('audit.title')} description={t('audit.description')} />
      {q.isPending ? <Loading /> : q.isError ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : entries.length === 0 ? (
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
                  <td><span className="action-tag">{action(e.action)}</span> {e.detail ? <bdi className="muted small">{e.detail}</bdi> : null}</td>
                  <td className="truncate"><code dir="ltr">{e.target || '—'}</code></td>
                  <td><code className="muted" dir="ltr">{e.clientAddr || '—'}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  )
}
