import { keepPreviousData } from '@tanstack/react-query'
import { useOp } from '../../api/context'
import { RangePicker, useUsageRange } from '../../components/charts/RangePicker'
import { TopChart, UsageChart } from '../../components/charts/lazy'
import { errorRate, ms, percent } from '../../components/charts/usage'
import { Card } from '../../components/PageHeader'
import { ErrorState, Loading } from '../../components/States'
import { useI18n } from '../../i18n/i18n'
import { useSession } from '../../session'

/** UsageOverviewCard is the Gateway screen's traffic at a glance: error rate over time, the busiest keys and routes. */
export function UsageOverviewCard() {
  const i18n = useI18n()
  const { t, number } = i18n
  const { org } = useSession()
  const range = useUsageRange('day')
  const input = { org: org.id, ...(range.query ?? {}) }
  const opts = { enabled: range.query !== null, placeholderData: keepPreviousData, refetchInterval: range.kind !== 'custom' ? 10_000 : false as const }
  const series = useOp('GetUsage', input, opts)
  const topRange = { org: org.id, from: range.query?.from, to: range.query?.to, limit: 5 }
  const keys = useOp('GetUsageTop', { ...topRange, by: 'key' }, opts)
  const routes = useOp('GetUsageTop', { ...topRange, by: 'route' }, opts)
  const sum = series.data?.summary
  return (
    <Card title={t('usage.overview.title')} description={t('usage.overview.description')} className="usage-card">
      <RangePicker range={range} />
      {series.isError ? <ErrorState error={series.error} onRetry={() => series.refetch()} /> : !series.data || !sum ? <Loading rows={3} /> : (
        <>
          <dl className="stats" data-testid="usage-stats">
            <div><dt>{t('usage.col.requests')}</dt><dd data-stat="total">{number(sum.total ?? 0)}</dd></div>
            <div><dt>{t('usage.series.error_rate')}</dt><dd data-stat="errorRate">{sum.total ? percent(i18n, errorRate(sum)) : '—'}</dd></div>
            <div><dt>{t('usage.series.rejected')}</dt><dd data-stat="rejected">{number(sum.rejected ?? 0)}</dd></div>
            <div><dt>{t('usage.series.p95')}</dt><dd data-stat="p95">{ms(i18n, sum.p95Ms)}</dd></div>
          </dl>
          <UsageChart series={series.data} kind="errorRate" height={160} testId="error-rate-chart" />
          <div className="chart-pair">
            {keys.data ? <TopChart title={t('usage.top.keys')} by="key" items={keys.data.items} testId="top-keys" /> : <Loading rows={2} />}
            {routes.data ? <TopChart title={t('usage.top.routes')} by="route" items={routes.data.items} testId="top-routes" /> : <Loading rows={2} />}
          </div>
        </>
      )}
    </Card>
  )
}
