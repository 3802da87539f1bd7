import type { Key } from '../../api/types'
import { StatusBadge } from '../../components/StatusBadge'
import { Time } from '../../components/Time'
import { Icon } from '../../components/Icon'
import { useT } from '../../i18n/i18n'
import { Link } from '../../router'
import { canRoll, keyPath } from './keyFacts'
import { EnableKeyButton } from './EnableKeyButton'

interface Props {
  keys: Key[]
  canManage: boolean
  onRoll: (k: Key) => void
  onRevoke: (k: Key) => void
  onEdit: (k: Key) => void
  onDisable: (k: Key) => void
}

/** KeysTable lists keys: name (a link to the key's screen), start…, status, created, expires,
 * last used, and the actions. Who created a key is on its screen. */
export function KeysTable({ keys, canManage, onRoll, onRevoke, onEdit, onDisable }: Props) {
  const t = useT()
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">{t('keys.field.name')}</th>
            <th scope="col">{t('keys.field.key')}</th>
            <th scope="col">{t('keys.field.status')}</th>
            <th scope="col">{t('keys.field.created')}</th>
            <th scope="col">{t('keys.field.expires')}</th>
            <th scope="col">{t('keys.field.last_used')}</th>
            {canManage ? <th scope="col"><span className="sr-only">{t('common.actions')}</span></th> : null}
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id} data-key-id={k.id}>
              <td className="cell-strong"><Link to={keyPath(k.id)} className="key-link"><bdi>{k.name}</bdi></Link></td>
              <td><code className="key-start" dir="ltr">{k.start}…</code></td>
              <td><StatusBadge status={k.status} /></td>
              <td><Time value={k.createdAt} /></td>
              <td><Time value={k.expiresAt} empty={t('keys.expiry.never')} /></td>
              <td><Time value={k.lastUsedAt} empty={t('keys.never_used')} /></td>
              {canManage ? (
                <td className="cell-actions">
                  {k.status !== 'revoked' ? (
                    <>
                      <button type="button" className="icon-btn" onClick={() => onEdit(k)} aria-label={t('keys.edit.action', { Name: k.name })} title={t('keys.edit.short')}>
                        <Icon name="edit" />
                      </button>
                      {k.status === 'disabled' ? <EnableKeyButton k={k} icon /> : (
                        <button type="button" className="icon-btn" onClick={() => onDisable(k)} aria-label={t('keys.disable.action', { Name: k.name })} title={t('keys.disable.short')}>
                          <Icon name="pause" />
                        </button>
                      )}
                      {canRoll(k) ? (
                        <button type="button" className="icon-btn" onClick={() => onRoll(k)} aria-label={t('keys.roll.action', { Name: k.name })} title={t('keys.roll.short')}>
                          <Icon name="roll" />
                        </button>
                      ) : null}
                      <button type="button" className="icon-btn icon-btn-danger" onClick={() => onRevoke(k)} aria-label={t('keys.revoke.action', { Name: k.name })} title={t('keys.revoke.short')}>
                        <Icon name="ban" />
                      </button>
                    </>
                  ) : null}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
