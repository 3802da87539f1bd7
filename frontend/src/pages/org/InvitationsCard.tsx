import { useAction, useOp } from '../../api/context'
import type { Invitation } from '../../api/operations'
import { Button } from '../../components/Button'
import { Card } from '../../components/PageHeader'
import { InlineError } from '../../components/States'
import { StatusBadge } from '../../components/StatusBadge'
import { useToast } from '../../components/Toasts'
import { useT } from '../../i18n/i18n'

/** InvitationsCard lists the signed-in account's pending invitations, each with Accept and Decline (security class 9: nobody joins an organization without accepting). Nothing shows when there are none. */
export function InvitationsCard() {
  const t = useT()
  const toast = useToast()
  const me = useOp('GetMe', {}, { retry: false, staleTime: Infinity })
  const accept = useAction('AcceptInvitation', ['GetMe', 'ListOrgs'])
  const decline = useAction('DeclineInvitation', ['GetMe'])
  const invitations: Invitation[] = me.data?.invitations ?? []
  if (invitations.length === 0) return null
  return (
    <Card title={t('org.invitations.title')} description={t('org.invitations.description')}>
      <ul className="list">
        {invitations.map((inv) => (
          <li key={inv.id} className="list-row">
            <div className="list-main">
              <bdi className="cell-strong">{inv.orgName}</bdi>
              <code className="muted small" dir="ltr">{inv.orgId}</code>
            </div>
            <StatusBadge kind="role" status={inv.role} />
            <Button
              variant="primary"
              pending={accept.isPending && accept.variables?.id === inv.id}
              onClick={() => accept.mutate({ id: inv.id }, { onSuccess: () => toast(t('org.invitations.accepted', { Name: inv.orgName })) })}
            >
              {t('org.invitations.accept')}
            </Button>
            <Button
              pending={decline.isPending && decline.variables?.id === inv.id}
              onClick={() => decline.mutate({ id: inv.id }, { onSuccess: () => toast(t('org.invitations.declined')) })}
            >
              {t('org.invitations.decline')}
            </Button>
          </li>
        ))}
      </ul>
      <InlineError error={accept.error ?? decline.error} />
    </Card>
  )
}
