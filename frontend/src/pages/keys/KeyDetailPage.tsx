import { useState } from 'react'
import { useOp } from '../../api/context'
import type { CreatedKey, Key } from '../../api/types'
import { Button } from '../../components/Button'
import { CopyButton } from '../../components/CopyButton'
import { Icon } from '../../components/Icon'
import { Card, PageHeader } from '../../components/PageHeader'
import { EmptyState, ErrorState, Loading } from '../../components/States'
import { StatusBadge } from '../../components/StatusBadge'
import { Time } from '../../components/Time'
import { useI18n } from '../../i18n/i18n'
import { holdKey } from '../../keyring'
import { Link } from '../../router'
import { useSession } from '../../session'
import { KeyDialog } from './KeyDialog'
import { DisableKeyDialog } from './DisableKeyDialog'
import { EnableKeyButton } from './EnableKeyButton'
import { RevokeKeyDialog } from './RevokeKeyDialog'
import { RollKeyDialog } from './RollKeyDialog'
import { ShowKeyOnceDialog } from './ShowKeyOnceDialog'
import { KeyUsageSlot } from './KeyUsageSlot'
import { canRoll, durationText, rateText } from './keyFacts'

type Open =
  | { kind: 'edit' | 'roll' | 'revoke' | 'disable' }
  | { kind: 'shown'; created: CreatedKey }
  | null

/** KeyDetailPage is everything about one key, with its actions. */
export function KeyDetailPage({ id }: { id: string }) {
  const { t } = useI18n()
  const { org } = useSession()
  // The organization is in the query: after switching, a key of the other one is "not found".
  const q = useOp('GetKey', { org: org.id, id })
  const back = (
    <Link to="/keys" className="back-link">
      <Icon name="chevron" className="back-icon" />
      <span>{t('keys.detail.back')}</span>
    </Link>
  )
  if (q.isPending) return <>{back}<Loading rows={6} /></>
  if (q.isError) {
    return (
      <>
        {back}
        {q.error.code === 'NOT_FOUND' ? (
          <EmptyState title={t('keys.detail.not_found.title')}>
            <p>{t('keys.detail.not_found.body')}</p>
          </EmptyState>
        ) : (
          <ErrorState error={q.error} onRetry={() => q.refetch()} />
        )}
      </>
    )
  }
  return <>{back}<KeyDetail k={q.data} /></>
}

function KeyDetail({ k }: { k: Key }) {
  const { t, number } = useI18n()
  const { can } = useSession()
  const [open, setOpen] = useState<Open>(null)
  const canManage = can('developer') && k.status !== 'revoked'

  const shown = (created: CreatedKey) => {
    holdKey({ id: created.id, name: created.name, start: created.start, key: created.key, orgId: created.orgId })
    setOpen({ kind: 'shown', created })
  }

  return (
    <>
      <PageHeader
        title={<span className="title-with-badge"><bdi>{k.name}</bdi> <StatusBadge status={k.status} /></span>}
        description={
          <span className="key-ident">
            <code className="key-start" dir="ltr">{k.start}…</code>
            <span className="muted">{t('keys.field.id')}</span>
            <code dir="ltr" data-testid="key-id">{k.id}</code>
            <CopyButton text={k.id} label={t('keys.detail.copy_id')} />
          </span>
        }
        actions={canManage ? (
          <>
            <Button icon="edit" onClick={() => setOpen({ kind: 'edit' })}>{t('keys.edit.short')}</Button>
            {canRoll(k) ? <Button icon="roll" onClick={() => setOpen({ kind: 'roll' })}>{t('keys.roll.short')}</Button> : null}
            {k.status === 'disabled' ? <EnableKeyButton k={k} /> : <Button icon="pause" onClick={() => setOpen({ kind: 'disable' })}>{t('keys.disable.short')}</Button>}
            <Button icon="ban" variant="danger" onClick={() => setOpen({ kind: 'revoke' })}>{t('keys.revoke.short')}</Button>
          </>
        ) : null}
      />
      {k.status === 'revoked' ? (
        <div className="callout callout-danger" role="note">
          <Icon name="ban" />
          <p>{k.revokeReason ? t('keys.detail.revoked_because', { Reason: k.revokeReason }) : t('keys.detail.revoked')}</p>
        </div>
      ) : k.status === 'disabled' ? (
        <div className="callout callout-warning" role="note">
          <Icon name="pause" />
          <p>{t('keys.detail.disabled')}</p>
        </div>
      ) : k.status === 'expired' ? (
        <div className="callout callout-warning" role="note">
          <Icon name="alert" />
          <p>{t('keys.detail.expired')}</p>
        </div>
      ) : null}
      <Card title={t('keys.detail.overview')}>
        <dl className="facts">
          <div><dt>{t('keys.field.status')}</dt><dd><StatusBadge status={k.status} /></dd></div>
          <div><dt>{t('keys.field.created')}</dt><dd><Time value={k.createdAt} /></dd></div>
          <div><dt>{t('keys.field.created_by')}</dt><dd><bdi>{k.createdBy || '—'}</bdi></dd></div>
          <div><dt>{t('keys.field.expires')}</dt><dd><Time value={k.expiresAt} empty={t('keys.expiry.never')} /></dd></div>
          <div><dt>{t('keys.field.last_used')}</dt><dd><Time value={k.lastUsedAt} empty={t('keys.never_used')} /></dd></div>
          <div><dt>{t('keys.field.usage_count')}</dt><dd className="num" data-testid="usage-count">{number(k.usageCount)}</dd></div>
          {k.disabledAt ? <div><dt>{t('keys.field.disabled_at')}</dt><dd><Time value={k.disabledAt} /></dd></div> : null}
          {k.disabledAt && k.disabledBy ? <div><dt>{t('keys.field.disabled_by')}</dt><dd><bdi>{k.disabledBy}</bdi></dd></div> : null}
          {k.revokedAt ? <div><dt>{t('keys.field.revoked_at')}</dt><dd><Time value={k.revokedAt} /></dd></div> : null}
          {k.revokedAt ? <div><dt>{t('keys.field.revoke_reason')}</dt><dd>{k.revokeReason ? <bdi>{k.revokeReason}</bdi> : <span className="muted">{t('keys.detail.no_reason')}</span>}</dd></div> : null}
        </dl>
      </Card>
      <div className="detail-grid">
        <Card title={t('keys.detail.access')}>
          <dl className="facts facts-one">
            <div>
              <dt>{t('keys.field.scopes')}</dt>
              <dd data-testid="key-scopes">
                {k.scopes?.length ? (
                  <ul className="chips">{k.scopes.map((s) => <li key={s} className="chip" dir="ltr">{s}</li>)}</ul>
                ) : <span className="muted">{t('keys.scopes.none')}</span>}
              </dd>
            </div>
            <div>
              <dt>{t('keys.field.allow_ips')}</dt>
              <dd data-testid="key-allow-ips">
                {k.allowIps?.length ? (
                  <ul className="chips">{k.allowIps.map((s) => <li key={s} className="chip" dir="ltr">{s}</li>)}</ul>
                ) : <span className="muted">{t('keys.allow_ips.none')}</span>}
              </dd>
            </div>
          </dl>
        </Card>
        <Card title={t('keys.detail.limits')}>
          <dl className="facts facts-one">
            <div><dt>{t('keys.field.rate_limit')}</dt><dd data-testid="key-rate">{rateText(t, number, k.rateLimit, k.rateWindowSeconds)}</dd></div>
            <div>
              <dt>{t('keys.field.quota_remaining')}</dt>
              <dd data-testid="key-quota">{k.quotaRemaining === null || k.quotaRemaining === undefined ? <span className="muted">{t('keys.quota.none')}</span> : <span className="num">{number(k.quotaRemaining)}</span>}</dd>
            </div>
            {k.quotaRemaining !== null && k.quotaRemaining !== undefined ? (
              <div>
                <dt>{t('keys.field.refill')}</dt>
                <dd data-testid="key-refill">
                  {k.refillAmount ? t('keys.refill.every', { Count: k.refillAmount, Interval: durationText(number, k.refillIntervalSeconds) }) : <span className="muted">{t('keys.refill.none')}</span>}
                </dd>
              </div>
            ) : null}
            {k.refillAmount && k.lastRefillAt ? <div><dt>{t('keys.field.last_refill')}</dt><dd><Time value={k.lastRefillAt} /></dd></div> : null}
          </dl>
        </Card>
      </div>
      <Card title={t('keys.detail.metadata')}>
        {Object.keys(k.metadata ?? {}).length ? (
          <table className="table table-compact meta-table" data-testid="key-metadata">
            <thead><tr><th scope="col">{t('keys.metadata.name')}</th><th scope="col">{t('keys.metadata.value')}</th></tr></thead>
            <tbody>
              {Object.entries(k.metadata).sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => (
                <tr key={name}><th scope="row"><code dir="ltr">{name}</code></th><td><bdi>{value}</bdi></td></tr>
              ))}
            </tbody>
          </table>
        ) : <p className="muted">{t('keys.metadata.none')}</p>}
      </Card>
      <KeyUsageSlot k={k} />
      {open?.kind === 'edit' ? <KeyDialog mode="edit" k={k} onClose={() => setOpen(null)} /> : null}
      {open?.kind === 'disable' ? <DisableKeyDialog k={k} onClose={() => setOpen(null)} /> : null}
      {open?.kind === 'roll' ? <RollKeyDialog k={k} onClose={() => setOpen(null)} onRolled={shown} /> : null}
      {open?.kind === 'revoke' ? <RevokeKeyDialog k={k} onClose={() => setOpen(null)} /> : null}
      {open?.kind === 'shown' ? <ShowKeyOnceDialog created={open.created} rolled onClose={() => setOpen(null)} /> : null}
    </>
  )
}
