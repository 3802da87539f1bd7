import { useAction } from '../../api/context'
import type { Member } from '../../api/types'
import { Button } from '../../components/Button'
import { CopyButton } from '../../components/CopyButton'
import { Dialog } from '../../components/Dialog'
import { InlineError } from '../../components/States'
import { Icon } from '../../components/Icon'
import { useI18n } from '../../i18n/i18n'

/**
 * ResetLinkDialog issues a one-time, 15-minute password reset link for a member, then shows it
 * once: the admin passes it on themselves. The token sits in the link's fragment.
 */
export function ResetLinkDialog({ orgId, member, onClose }: { orgId: string; member: Member; onClose: () => void }) {
  const { t, exact } = useI18n()
  const create = useAction('CreatePasswordReset')
  const name = member.name || member.email
  const link = create.data ? window.location.origin + create.data.path : ''
  return (
    <Dialog
      title={t('members.reset.action', { Name: name })}
      description={create.data ? undefined : t('members.reset.confirm', { Email: member.email })}
      onClose={onClose}
      dismissable={!create.data}
      footer={create.data ? (
        <Button variant="primary" onClick={onClose} data-autofocus>{t('common.done')}</Button>
      ) : (
        <>
          <Button onClick={onClose} data-autofocus>{t('common.cancel')}</Button>
          <Button variant="primary" pending={create.isPending} onClick={() => create.mutate({ org: orgId, userId: member.userId })}>
            {t('members.reset.submit')}
          </Button>
        </>
      )}
    >
      {create.data ? (
        <>
          <div className="callout callout-warning" role="note">
            <Icon name="alert" />
            <p>{t('members.reset.created', { Email: create.data.email, Time: exact(new Date(create.data.expiresAt)) })}</p>
          </div>
          <div className="secret-box">
            <code className="secret" dir="ltr" data-testid="reset-link" aria-label={t('members.reset.link')}>{link}</code>
            <CopyButton text={link} secret variant="button" label={t('common.copy')} />
          </div>
        </>
      ) : <InlineError error={create.error} />}
    </Dialog>
  )
}
