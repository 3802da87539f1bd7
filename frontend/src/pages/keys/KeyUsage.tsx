import type { Key } from '../../api/types'
import { UsageCard } from '../../components/charts/UsageCard'
import { useI18n } from '../../i18n/i18n'

/** KeyUsage is the key detail screen's chart: the requests made with this key, last day by default. */
export function KeyUsage({ k }: { k: Key }) {
  const { t } = useI18n()
  return (
    <UsageCard org={k.orgId} keyId={k.id} initial="day" title={t('keys.detail.usage')} description={t('usage.key.description')}
      testId="key-usage-chart" />
  )
}
