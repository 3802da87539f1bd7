import { UsageCard } from '../../components/charts/UsageCard'
import { useI18n } from '../../i18n/i18n'

/** TrafficCard is the Requests screen's chart of traffic and errors over time, following its key and route filters. */
export function TrafficCard({ org, keyId, route, live }: { org: string; keyId?: string; route?: string; live: boolean }) {
  const { t } = useI18n()
  return (
    <UsageCard org={org} keyId={keyId} route={route} live={live} title={t('usage.traffic.title')}
      description={t('usage.traffic.description')} testId="traffic-chart" />
  )
}
