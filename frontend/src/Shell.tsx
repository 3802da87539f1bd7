import type { ReactNode } from 'react'
import { Icon, type IconName } from './components/Icon'
import { Logo } from './components/Logo'
import { OrgSwitcher } from './components/OrgSwitcher'
import { Link, useRouter } from './router'
import { useT } from './i18n/i18n'
import { useSession } from './session'

interface NavItem { to: string; icon: IconName; label: string; serveOnly?: boolean }

export const nav: NavItem[] = [
  { to: '/keys', icon: 'key', label: 'nav.keys' },
  { to: '/org', icon: 'building', label: 'nav.org' },
  { to: '/gateway', icon: 'gateway', label: 'nav.gateway' },
  { to: '/requests', icon: 'activity', label: 'nav.requests' },
  { to: '/docs', icon: 'book', label: 'nav.docs' },
  { to: '/members', icon: 'users', label: 'nav.members', serveOnly: true },
  { to: '/webhooks', icon: 'send', label: 'nav.webhooks' },
  { to: '/audit', icon: 'scroll', label: 'nav.audit' },
  { to: '/preferences', icon: 'settings', label: 'nav.preferences' },
]

/** Shell is the console frame: sidebar with the organization switcher and navigation, then the screen. */
export function Shell({ children, wide }: { children: ReactNode; wide?: boolean }) {
  const t = useT()
  const { user, desktop, logout, role } = useSession()
  const { path } = useRouter()
  return (
    <div className="shell">
      <a className="skip-link" href="#main">{t('nav.skip')}</a>
      <aside className="sidebar">
        <div className="sidebar-top">
          <Logo />
          {desktop ? <span className="badge badge-neutral mode-badge">{t('mode.desktop')}</span> : null}
        </div>
        <OrgSwitcher />
        <nav aria-label={t('nav.label')}>
          <ul className="nav">
            {nav.filter((n) => !(n.serveOnly && desktop)).map((n) => (
              <li key={n.to}>
                <Link to={n.to} className="nav-link" aria-current={path === n.to || path.startsWith(n.to + '/') ? 'page' : undefined}>
                  <Icon name={n.icon} />
                  <span>{t(n.label)}</span>
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="sidebar-bottom">
          <div className="user">
            <span className="avatar" aria-hidden="true">{(user.name || user.email || '?').slice(0, 1).toUpperCase()}</span>
            <div className="user-text">
              <span className="user-name">{user.name || user.email}</span>
              <span className="user-role">{t(`role.${role}`)}</span>
            </div>
            {!desktop ? (
              <button type="button" className="icon-btn" onClick={logout} aria-label={t('nav.logout')} title={t('nav.logout')}>
                <Icon name="logout" />
              </button>
            ) : null}
          </div>
        </div>
      </aside>
      <main id="main" className={`main${wide ? ' main-wide' : ''}`} tabIndex={-1}>
        <div className="content">{children}</div>
      </main>
    </div>
  )
}
