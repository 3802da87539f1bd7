import { useOp } from '../../api/context'
import { Card } from '../../components/PageHeader'
import { EmptyState, ErrorState, Loading } from '../../components/States'
import { Time } from '../../components/Time'
import { useI18n } from '../../i18n/i18n'

/** NodesCard lists the gateway nodes that share this database (one with SQLite), live ones first. */
export function NodesCard() {
  const { t, number } = useI18n()
  const q = useOp('ListNodes', {}, { refetchInterval: 5000 })
  const nodes = q.data?.nodes ?? []
  return (
    <Card title={t('gateway.nodes.title')} description={t('gateway.nodes.description')}>
      {q.isPending ? <Loading rows={1} /> : q.isError ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : nodes.length === 0 ? (
        <EmptyState icon="gateway" title={t('gateway.nodes.empty.title')}><p>{t('gateway.nodes.empty.body')}</p></EmptyState>
      ) : (
        <div className="table-wrap table-flush">
          <table className="table" data-testid="nodes-table">
            <thead>
              <tr>
                <th scope="col">{t('gateway.nodes.name')}</th>
                <th scope="col">{t('gateway.nodes.version')}</th>
                <th scope="col">{t('gateway.nodes.address')}</th>
                <th scope="col">{t('gateway.nodes.started')}</th>
                <th scope="col">{t('gateway.nodes.last_seen')}</th>
                <th scope="col" className="num">{t('gateway.nodes.rps')}</th>
                <th scope="col">{t('gateway.nodes.state')}</th>
              </tr>
            </thead>
            <tbody>
              {nodes.map((n) => (
                <tr key={n.id}>
                  <td><bdi>{n.name}</bdi></td>
                  <td><code dir="ltr">{n.version}</code></td>
                  <td className="truncate"><code dir="ltr">{n.address || '—'}</code></td>
                  <td><Time value={n.startedAt} /></td>
                  <td><Time value={n.lastSeenAt} /></td>
                  <td className="num">{number(n.requestsPerSecond)}</td>
                  <td>{n.live
                    ? <span className="badge badge-success"><span className="badge-dot" aria-hidden="true" />{t('gateway.nodes.live')}</span>
                    : <span className="badge badge-neutral"><span className="badge-dot" aria-hidden="true" />{t('gateway.nodes.gone')}</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  )
}
