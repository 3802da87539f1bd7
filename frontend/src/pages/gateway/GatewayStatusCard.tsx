import { useAction, useOp } from '../../api/context'
import { Button } from '../../components/Button'
import { Card } from '../../components/PageHeader'
import { CopyButton } from '../../components/CopyButton'
import { ErrorState, InlineError, Loading } from '../../components/States'
import { StatusBadge } from '../../components/StatusBadge'
import { Time } from '../../components/Time'
import { useT } from '../../i18n/i18n'

/** GatewayStatusCard shows whether the gateway runs and where; the desktop app can start and stop it. */
export function GatewayStatusCard({ admin }: { admin: boolean }) {
  const t = useT()
  const q = useOp('GetGatewayStatus', {}, { refetchInterval: 5000 })
  const start = useAction('StartGateway', ['GetGatewayStatus'])
  const stop = useAction('StopGateway', ['GetGatewayStatus'])
  const s = q.data
  return (
    <Card
      title={t('gateway.status.title')}
      actions={s?.canControl && admin ? (
        s.running
          ? <Button icon="stop" onClick={() => stop.mutate({})} pending={stop.isPending}>{t('gateway.stop')}</Button>
          : <Button variant="primary" icon="play" onClick={() => start.mutate({})} pending={start.isPending}>{t('gateway.start')}</Button>
      ) : null}
    >
      {q.isPending ? <Loading rows={2} /> : q.isError ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : s ? (
        <dl className="facts">
          <div>
            <dt>{t('gateway.status.state')}</dt>
            <dd><StatusBadge kind="gateway" status={s.running ? 'running' : 'stopped'} /></dd>
          </div>
          <div>
            <dt>{t('gateway.status.url')}</dt>
            <dd className="with-copy">{s.url ? <><code dir="ltr">{s.url}</code><CopyButton text={s.url} label={t('gateway.copy_url')} /></> : <span className="muted">—</span>}</dd>
          </div>
          <div>
            <dt>{t('gateway.status.listen')}</dt>
            <dd><code dir="ltr">{s.listen || '—'}</code></dd>
          </div>
          <div>
            <dt>{t('gateway.status.started')}</dt>
            <dd><Time value={s.startedAt} empty="—" /></dd>
          </div>
        </dl>
      ) : null}
      <InlineError error={start.error || stop.error} />
      {s && !s.canControl ? <p className="field-hint">{t('gateway.status.serve_hint')}</p> : null}
    </Card>
  )
}
