import { keepPreviousData } from '@tanstack/react-query'
import type { ReactNode } from 'react'
import { useOp } from '../../api/context'
import { useI18n } from '../../i18n/i18n'
import { Card } from '../PageHeader'
import { ErrorState, Loading } from '../States'
import { RangePicker, useUsageRange } from './RangePicker'
import { UsageChart } from './lazy'
import type { UsageChartKind } from './UsageChart'
import type { RangeKind, RangeQuery } from './usage'

interface Props {
  org: string
  title: ReactNode
  description?: ReactNode
  keyId?: string
  route?: string
  kind?: UsageChartKind
  initial?: RangeKind
  live?: boolean
  testId?: string
  /**
   * range, when given, is the range the screen chose (the Requests screen's one time range
   * drives its chart and its log): the card then has no picker of its own. Null charts nothing.
   */
  range?: RangeQuery | null
}

/**
 * UsageCard is a card with a range picker and a usage chart of one organization's traffic,
 * optionally of one key or route; it refreshes every 10 s while live (the gateway writes the
 * rollups every 5 s).
 */
export function UsageCard({ org, title, description, keyId, route, kind = 'traffic', initial = 'hour', live = true, testId, range: given }: Props) {
  const { t } = useI18n()
  const own = useUsageRange(initial, live && given === undefined)
  const query = given === undefined ? own.query : given
  // A range of the screen's refreshes while live: the screen says live only while it has no end.
  const sliding = given === undefined ? own.kind !== 'custom' : true
  const q = useOp('GetUsage', { org, keyId: keyId || undefined, route: route || undefined, ...(query ?? {}) },
    { enabled: query !== null, placeholderData: keepPreviousData, refetchInterval: live && sliding ? 10_000 : false })
  return (
    <Card title={title} description={description} className="usage-card">
      {given === undefined ? <RangePicker range={own} /> : null}
      {q.isError ? <ErrorState error={q.error} onRetry={() => q.refetch()} />
        : !q.data || query === null ? (query === null ? null : <Loading rows={3} />)
          : (
            <>
              <UsageChart series={q.data} kind={kind} testId={testId} />
              {!q.data.summary.total ? <p className="muted chart-empty">{t('usage.empty')}</p> : null}
            </>
          )}
    </Card>
  )
}
