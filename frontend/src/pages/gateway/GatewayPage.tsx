import { PageHeader } from '../../components/PageHeader'
import { useT } from '../../i18n/i18n'
import { useSession } from '../../session'
import { GatewayStatusCard } from './GatewayStatusCard'
import { RoutesCard } from './RoutesCard'
import { GatewaySettingsCard } from './GatewaySettingsCard'
import { NodesCard } from './NodesCard'
import { PortsCard } from './PortsCard'
import { UsageOverviewCard } from './UsageOverviewCard'
import { BackupCard } from './BackupCard'

export function GatewayPage() {
  const t = useT()
  const { can } = useSession()
  const admin = can('admin')
  return (
    <>
      <PageHeader title={t('gateway.title')} description={t('gateway.description')} />
      <GatewayStatusCard admin={admin} />
      <UsageOverviewCard />
      <NodesCard />
      <RoutesCard admin={admin} />
      <GatewaySettingsCard admin={admin} />
      <PortsCard admin={admin} />
      {/* The instance-wide admin things live here (ports, nodes, identity keys); a backup is of the whole instance. */}
      {admin ? <BackupCard /> : null}
    </>
  )
}
