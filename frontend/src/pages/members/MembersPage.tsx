import { useState } from 'react'
import { useAction, useOp } from '../../api/context'
import type { Member, Role } from '../../api/types'
import { Button } from '../../components/Button'
import { Dialog } from '../../components/Dialog'
import { Icon } from '../../components/Icon'
import { PageHeader } from '../../components/PageHeader'
import { EmptyState, ErrorState, InlineError, Loading } from '../../components/States'
import { StatusBadge } from '../../components/StatusBadge'
import { Time } from '../../components/Time'
import { useToast } from '../../components/Toasts'
import { useT } from '../../i18n/i18n'
import { useSession } from '../../session'
import { AddMemberDialog, roles } from './AddMemberDialog'
import { ResetLinkDialog } from './ResetLinkDialog'

/** MembersPage lists the organization's members; admins add, re-role and remove them. */
export function MembersPage() {
  const t = useT()
  const toast = useToast()
  const { org, can, user, desktop } = useSession()
  const admin = can('admin')
  const q = useOp('ListMembers', { org: org.id })
  const change = useAction('ChangeMemberRole', ['ListMembers'])
  const remove = useAction('RemoveMember', ['ListMembers'])
  const [adding, setAdding] = useState(false)
  const [removing, setRemoving] = useState<Member | null>(null)
  const [resetting, setResetting] = useState<Member | null>(null)
  const members = q.data?.members ?? []
  return (
    <>
      <PageHeader
        title={t('members.title')}
        description={t('members.description')}
        actions={admin ? <Button variant="primary" icon="plus" onClick={() => setAdding(true)}>{t('members.add.action')}</Button> : null}
      />
      <InlineError error={change.error} />
      {q.isPending ? <Loading /> : q.isError ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : members.length === 0 ? (
        <EmptyState icon="users" title={t('members.empty.title')}><p>{t('members.empty.body')}</p></EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t('members.field.name')}</th>
                <th scope="col">{t('members.field.email')}</th>
                <th scope="col">{t('members.field.role')}</th>
                <th scope="col">{t('members.field.added')}</th>
                {admin ? <th scope="col"><span className="sr-only">{t('common.actions')}</span></th> : null}
              </tr>
            </thead>
            <tbody>
              {members.map((m) => (
                <tr key={m.userId}>
                  <td className="cell-strong">
                    <span className="avatar" aria-hidden="true">{(m.name || m.email).slice(0, 1).toUpperCase()}</span>
                    <bdi>{m.name || '—'}</bdi>
                    {m.userId === user.id ? <span className="badge badge-neutral">{t('members.you')}</span> : null}
                  </td>
                  <td className="muted" dir="ltr">{m.email}</td>
                  <td>
                    {admin && m.userId !== user.id ? (
                      <select
                        className="input input-sm"
                        value={m.role}
                        aria-label={t('members.role_of', { Name: m.name || m.email })}
                        onChange={(e) => change.mutate({ org: org.id, userId: m.userId, role: e.target.value as Role }, { onSuccess: () => toast(t('members.role_changed')) })}
                      >
                        {roles.map((r) => <option key={r} value={r}>{t(`role.${r}`)}</option>)}
                      </select>
                    ) : <StatusBadge kind="role" status={m.role} />}
                  </td>
                  <td><Time value={m.createdAt} /></td>
                  {admin ? (
                    <td className="cell-actions">
                      {m.userId !== user.id && !desktop ? (
                        <button type="button" className="icon-btn" onClick={() => setResetting(m)} aria-label={t('members.reset.action', { Name: m.name || m.email })} title={t('members.reset.action', { Name: m.name || m.email })}><Icon name="lock" /></button>
                      ) : null}
                      {m.userId !== user.id ? (
                        <button type="button" className="icon-btn icon-btn-danger" onClick={() => setRemoving(m)} aria-label={t('members.remove.action', { Name: m.name || m.email })}><Icon name="trash" /></button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {resetting ? <ResetLinkDialog orgId={org.id} member={resetting} onClose={() => setResetting(null)} /> : null}
      {adding ? <AddMemberDialog orgId={org.id} onClose={() => setAdding(false)} /> : null}
      {removing ? (
        <Dialog
          title={t('members.remove.title', { Name: removing.name || removing.email })}
          description={t('members.remove.description', { Org: org.name })}
          onClose={() => setRemoving(null)}
          footer={
            <>
              <Button onClick={() => setRemoving(null)} data-autofocus>{t('common.cancel')}</Button>
              <Button variant="danger" pending={remove.isPending} onClick={() => remove.mutate({ org: org.id, userId: removing.userId }, { onSuccess: () => setRemoving(null) })}>{t('members.remove.submit')}</Button>
            </>
          }
        >
          <InlineError error={remove.error} />
        </Dialog>
      ) : null}
    </>
  )
}
