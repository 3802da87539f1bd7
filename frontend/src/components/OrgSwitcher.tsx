import { useId } from 'react'
import { useI18n } from '../i18n/i18n'
import { useSession } from '../session'
import { Icon } from './Icon'

/** OrgSwitcher chooses the organization every screen shows. */
export function OrgSwitcher() {
  const { t, bidi } = useI18n()
  const { org, orgs, setOrg } = useSession()
  const id = useId()
  return (
    <div className="org-switcher">
      <label htmlFor={id} className="org-switcher-label">{t('nav.organization')}</label>
      <div className="org-switcher-control">
        <span className="org-avatar" aria-hidden="true">{org.name.slice(0, 1).toUpperCase()}</span>
        <select id={id} value={org.id} onChange={(e) => setOrg(e.target.value)} data-testid="org-switcher">
          {orgs.map((o) => <option key={o.id} value={o.id}>{bidi(o.name)}</option>)}
        </select>
        <Icon name="chevron" className="org-switcher-chevron" />
      </div>
    </div>
  )
}
