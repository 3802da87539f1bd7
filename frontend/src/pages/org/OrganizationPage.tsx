import { useEffect, useState, type FormEvent } from 'react'
import { useAction } from '../../api/context'
import { Button } from '../../components/Button'
import { Card, PageHeader } from '../../components/PageHeader'
import { CopyButton } from '../../components/CopyButton'
import { Field } from '../../components/Field'
import { InlineError } from '../../components/States'
import { StatusBadge } from '../../components/StatusBadge'
import { Time } from '../../components/Time'
import { useToast } from '../../components/Toasts'
import { useT } from '../../i18n/i18n'
import { useSession } from '../../session'
import { CreateOrgDialog } from './CreateOrgDialog'
import { InvitationsCard } from './InvitationsCard'

/** OrganizationPage shows the current organization (renamable by admins) and all of the user's organizations. */
export function OrganizationPage() {
  const t = useT()
  const toast = useToast()
  const { org, orgs, can, setOrg, isAdminAnywhere } = useSession()
  const rename = useAction('RenameOrg', ['ListOrgs', 'GetOrg'])
  const [name, setName] = useState(org.name)
  const [err, setErr] = useState('')
  const [creating, setCreating] = useState(false)
  const admin = can('admin')
  useEffect(() => { setName(org.name); setErr('') }, [org.id, org.name])

  const submit = (e: FormEvent) => {
    e.preventDefault()
    const n = name.trim()
    if (!n) return setErr(t('validation.required'))
    setErr('')
    rename.mutate({ org: org.id, name: n }, { onSuccess: () => toast(t('org.renamed')) })
  }

  return (
    <>
      <PageHeader title={t('org.title')} description={t('org.description')} />
      <InvitationsCard />
      <Card title={t('org.general')}>
        <form className="form form-inline" onSubmit={submit} noValidate>
          <Field label={t('org.field.name')} error={err || rename.error?.fieldError?.('name')} hint={admin ? undefined : t('org.rename.admin_only')}>
            <input className="input" value={name} onChange={(e) => setName(e.target.value)} readOnly={!admin} maxLength={64} />
          </Field>
          {admin ? <Button type="submit" variant="primary" pending={rename.isPending} disabled={name.trim() === org.name}>{t('common.save')}</Button> : null}
        </form>
        {!rename.error?.fieldError?.('name') ? <InlineError error={rename.error} /> : null}
        <dl className="facts">
          <div>
            <dt>{t('org.field.id')}</dt>
            <dd className="with-copy"><code dir="ltr">{org.id}</code><CopyButton text={org.id} label={t('org.copy_id')} /></dd>
          </div>
          <div>
            <dt>{t('org.field.prefix')}</dt>
            <dd><code dir="ltr">{org.keyPrefix}_</code></dd>
          </div>
          <div>
            <dt>{t('org.field.created')}</dt>
            <dd><Time value={org.createdAt} /></dd>
          </div>
          <div>
            <dt>{t('org.field.role')}</dt>
            <dd>{org.role ? <StatusBadge kind="role" status={org.role} /> : null}</dd>
          </div>
        </dl>
      </Card>
      <Card
        title={t('org.all.title')}
        description={t('org.all.description')}
        actions={isAdminAnywhere ? <Button icon="plus" onClick={() => setCreating(true)}>{t('org.create.action')}</Button> : null}
      >
        <ul className="list">
          {orgs.map((o) => (
            <li key={o.id} className="list-row">
              <div className="list-main">
                <bdi className="cell-strong">{o.name}</bdi>
                <code className="muted small" dir="ltr">{o.id}</code>
              </div>
              {o.role ? <StatusBadge kind="role" status={o.role} /> : null}
              {o.id === org.id ? (
                <span className="badge badge-accent">{t('org.current')}</span>
              ) : (
                <Button size="sm" onClick={() => setOrg(o.id)} aria-label={t('org.switch_to', { Name: o.name })}>{t('org.switch')}</Button>
              )}
            </li>
          ))}
        </ul>
      </Card>
      {creating ? <CreateOrgDialog onClose={() => setCreating(false)} onCreated={(id) => { setCreating(false); setOrg(id) }} /> : null}
    </>
  )
}
