import { useEffect, useState } from 'react'
import { QueryClient, QueryClientProvider, useQueryClient } from '@tanstack/react-query'
import type { Api } from './api/client'
import { ApiError } from './api/error'
import { ApiProvider, useApi, useOp } from './api/context'
import { I18nProvider, useI18n } from './i18n/i18n'
import { RouterProvider, useRouter } from './router'
import { ThemeProvider, useTheme } from './theme'
import { SessionProvider } from './session'
import { ToastProvider } from './components/Toasts'
import { ErrorState, Loading } from './components/States'
import { Shell } from './Shell'
import { KeysPage } from './pages/keys/KeysPage'
import { KeyDetailPage } from './pages/keys/KeyDetailPage'
import { OrganizationPage } from './pages/org/OrganizationPage'
import { GatewayPage } from './pages/gateway/GatewayPage'
import { RequestsPage } from './pages/requests/RequestsPage'
import { DocsPage } from './pages/docs/DocsPage'
import { MembersPage } from './pages/members/MembersPage'
import { WebhooksPage } from './pages/webhooks/WebhooksPage'
import { AuditPage } from './pages/audit/AuditPage'
import { PreferencesPage } from './pages/preferences/PreferencesPage'
import { LoginPage } from './pages/auth/LoginPage'
import { SetupPage } from './pages/auth/SetupPage'
import { ResetPasswordPage } from './pages/auth/ResetPasswordPage'
import { AccessDenied } from './pages/auth/AccessDenied'
import type { User } from './api/types'

export function newQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        refetchOnWindowFocus: false,
        // A refused call (4xx) will not succeed by asking again; network hiccups may.
        retry: (n, e) => !(e instanceof ApiError && e.status >= 400 && e.status < 500) && n < 2,
      },
    },
  })
}

function Screen({ path }: { path: string }) {
  if (path.startsWith('/keys/') && path.length > 6) return <KeyDetailPage id={decodeURIComponent(path.slice(6))} />
  switch (path) {
    case '/org': return <OrganizationPage />
    case '/gateway': return <GatewayPage />
    case '/requests': return <RequestsPage />
    case '/docs': return <DocsPage />
    case '/members': return <MembersPage />
    case '/webhooks': return <WebhooksPage />
    case '/audit': return <AuditPage />
    case '/preferences': return <PreferencesPage />
    default: return <KeysPage />
  }
}

/** Console is what a signed-in user sees: their organizations, or "access denied" without any. */
function Console({ user, onLogout }: { user: User; onLogout: () => void }) {
  const { path, navigate } = useRouter()
  const orgs = useOp('ListOrgs', {})
  const api = useApi()
  useEffect(() => {
    if (path === '/' || path === '/login' || path === '/setup' || path === '/index.html') navigate('/keys', true)
  }, [path, navigate])
  if (orgs.isPending) return <FullPage><Loading /></FullPage>
  if (orgs.isError) {
    if (orgs.error.code === 'FORBIDDEN') return <AccessDenied onLogout={api.kind !== 'desktop' ? () => api.call('Logout', {}).finally(onLogout) : undefined} />
    return <FullPage><ErrorState error={orgs.error} onRetry={() => orgs.refetch()} /></FullPage>
  }
  const list = orgs.data.orgs ?? []
  if (list.length === 0) return <AccessDenied onLogout={api.kind !== 'desktop' ? () => api.call('Logout', {}).finally(onLogout) : undefined} />
  return (
    <SessionProvider user={user} orgs={list} onLogout={onLogout}>
      <Shell wide={path === '/docs'}>
        <Screen path={path} />
      </Shell>
    </SessionProvider>
  )
}

function FullPage({ children }: { children: React.ReactNode }) {
  return <main className="auth"><div className="auth-card">{children}</div></main>
}

/** Gate decides between setup, login and the console from GetMe and GetSetup. */
function Gate() {
  const { path } = useRouter()
  const qc = useQueryClient()
  const me = useOp('GetMe', {}, { retry: false, staleTime: Infinity })
  const unauth = me.isError && me.error.code === 'UNAUTHENTICATED'
  const setup = useOp('GetSetup', {}, { enabled: unauth, retry: false })
  const { setLanguage, lang } = useI18n()
  const { setTheme } = useTheme()
  const [applied, setApplied] = useState(false)
  // resetQueries (not clear) so mounted queries such as GetMe fetch again at once.
  const refresh = () => { qc.resetQueries() }

  // Apply the saved preferences once per sign-in; an explicit local choice wins meanwhile.
  useEffect(() => {
    const u = me.data?.user
    if (!u || applied) return
    setApplied(true)
    const want = me.data?.language || u.language
    if (want && want !== lang) setLanguage(want).catch(() => {})
    if (u.theme === 'light' || u.theme === 'dark' || u.theme === 'system') setTheme(u.theme)
  }, [me.data, applied, lang, setLanguage, setTheme])

  if (me.isPending) return <FullPage><Loading rows={3} /></FullPage>
  // A reset link works whoever is signed in on this browser (an admin trying the link out).
  if (path === '/reset-password') return <ResetPasswordPage onDone={refresh} />
  if (unauth) {
    if (path === '/setup' || setup.data?.needed) return <SetupPage onDone={refresh} />
    if (setup.isPending) return <FullPage><Loading rows={3} /></FullPage>
    return <LoginPage onSignedIn={refresh} />
  }
  if (me.isError) return <FullPage><ErrorState error={me.error} onRetry={() => me.refetch()} /></FullPage>
  return <Console user={me.data.user} onLogout={() => { setApplied(false); refresh() }} />
}

function CatalogFallback({ error, retry }: { error: unknown; retry: () => void }) {
  useEffect(() => {
    if (!error) return
    const id = window.setTimeout(retry, 3000)
    return () => window.clearTimeout(id)
  }, [error, retry])
  return (
    <main className="auth" aria-busy="true">
      <div className="auth-card center">
        <span className="spinner spinner-lg" aria-hidden="true" />
        {error instanceof ApiError && error.detail ? <p className="muted small">{error.detail}</p> : null}
      </div>
    </main>
  )
}

/** App wires the providers: API, server state, router, theme, language, toasts. */
export function App({ api, queryClient = newQueryClient() }: { api: Api; queryClient?: QueryClient }) {
  const initial = typeof localStorage !== 'undefined' ? localStorage.getItem('keygate.lang') ?? '' : ''
  return (
    <ApiProvider api={api}>
      <QueryClientProvider client={queryClient}>
        <RouterProvider>
          <ThemeProvider>
            <I18nProvider api={api} initial={initial} fallback={(e, retry) => <CatalogFallback error={e} retry={retry} />}>
              <ToastProvider>
                <Gate />
              </ToastProvider>
            </I18nProvider>
          </ThemeProvider>
        </RouterProvider>
      </QueryClientProvider>
    </ApiProvider>
  )
}
