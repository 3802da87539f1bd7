import { Button } from '../../components/Button'
import { EmptyState } from '../../components/States'
import { useT } from '../../i18n/i18n'

/** AccessDenied is what a signed-in user with no membership sees, instead of endless loading. */
export function AccessDenied({ onLogout }: { onLogout?: () => void }) {
  const t = useT()
  return (
    <main className="auth">
      <div className="auth-card">
        <EmptyState icon="lock" title={t('denied.title')} action={onLogout ? <Button icon="logout" onClick={onLogout}>{t('nav.logout')}</Button> : null}>
          <p>{t('denied.body')}</p>
        </EmptyState>
      </div>
    </main>
  )
}
