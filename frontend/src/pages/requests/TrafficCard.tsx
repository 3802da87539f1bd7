import { UsageCard } from '../../components/charts/UsageCard'
import type { RangeQuery } from '../../components/charts/usage'
import { useI18n } from '../../i18n/i18n'

/**
 * TrafficCard is the Requests screen's chart of traffic and errors over time. It follows the
 * screen's filters — key, route and the one time range that also bounds the log below it.
 */
export function TrafficCard({ org, keyId, route, live, range }: { org: string; keyId?: string; route?: string; live: boolean; range: RangeQuery | null }) {
  const { t } = useI18n()
  return (
    <UsageCard org={org} keyId={keyId} route={route} live={live} range={range} title={t('usage.traffic.title')}
      description={t('usage.traffic.description')} testId="traffic-chart" />
  )
}
