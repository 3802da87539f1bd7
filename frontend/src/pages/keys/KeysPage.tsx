import { useEffect, useState } from 'react'
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { useApi } from '../../api/context'
import type { ApiError } from '../../api/error'
import type { CreatedKey, Key, KeyStatus } from '../../api/types'
import { Button } from '../../components/Button'
import { PageHeader } from '../../components/PageHeader'
import { EmptyState, ErrorState, Loading, errorDetail } from '../../components/States'
import { useToast } from '../../components/Toasts'
import { exportName, saveText } from '../../export/export'
import { Icon } from '../../components/Icon'
import { useI18n } from '../../i18n/i18n'
import { useRouter } from '../../router'
import { useSession } from '../../session'
import { holdKey } from '../../keyring'
import { KeysTable } from './KeysTable'
import { KeyDialog } from './KeyDialog'
import { ImportKeysDialog } from './ImportKeysDialog'
import { ShowKeyOnceDialog } from './ShowKeyOnceDialog'
import { RevokeKeyDialog } from './RevokeKeyDialog'
import { RollKeyDialog } from './RollKeyDialog'
import { DisableKeyDialog } from './DisableKeyDialog'
import { listQuery, pageSizes, sorts, type ListView } from './listView'

type Filter = KeyStatus | 'all'
const filters: Filter[] = ['all', 'active', 'disabled', 'expired', 'revoked']

type Open =
  | { kind: 'create' }
  | { kind: 'import' }
  | { kind: 'shown'; created: CreatedKey; rolled: boolean }
  | { kind: 'revoke' | 'roll' | 'edit' | 'disable'; key: Key }
  | null

/** KeysPage is the API keys screen: search, status filter, "expiring within 7 days", sort,
 * pages, the table and the key dialogs. The view lives in the address (?q=&status=&…), so
 * coming back from a key's screen shows the same list. */
export function KeysPage() {
  const { t, number } = useI18n()
  const api = useApi()
  const { org, can } = useSession()
  const { search, navigate } = useRouter()
  const view: ListView = listQuery.parse(search)
  const [open, setOpen] = useState<Open>(null)
  const [typed, setTyped] = useState(view.q)
  // cursors[i] is the cursor of page i + 1; page 1 has none.
  const [cursors, setCursors] = useState<string[]>([''])
  const [page, setPage] = useState(0)
  const canManage = can('developer')
  const canAdmin = can('admin')
  const toast = useToast()
  const [exporting, setExporting] = useState(false)
  // exportKeys saves the organization's keys in Keygate's format (hashes only): a "save as"
  // dialog in the desktop window, a download in the browser.
  const exportKeys = async () => {
    setExporting(true)
    try {
      const file = await api.call('ExportKeys', { org: org.id })
      const saved = await saveText(exportName('keys', 'json'), 'application/json', JSON.stringify(file, null, 2) + '\n')
      if (saved) toast(t('keys.export.done', { Count: file.keys.length }))
    } catch (e) {
      toast(errorDetail(e, t('common.error.unknown')), 'error')
    } finally {
      setExporting(false)
    }
  }

  const setView = (next: Partial<ListView>) => {
    setCursors([''])
    setPage(0)
    navigate(`/keys${listQuery.format({ ...view, ...next })}`, true)
  }
  // The search runs when typing pauses.
  useEffect(() => {
    if (typed === view.q) return
    const id = window.setTimeout(() => setView({ q: typed }), 250)
    return () => window.clearTimeout(id)
  })
  // Another organization starts at its first page.
  useEffect(() => { setCursors(['']); setPage(0) }, [org.id])

  const [sortBy, order] = view.sort.split(':') as ['created' | 'name' | 'expires' | 'lastUsed', 'asc' | 'desc']
  const input = {
    org: org.id, status: view.status, search: view.q || undefined, sort: sortBy, order,
    expiringWithinDays: view.expiring ? 7 : undefined, limit: view.size, cursor: cursors[page] || undefined,
  }
  // The organization id is in the key: another organization's cached keys are never shown.
  const q = useQuery({
    queryKey: ['ListKeys', input],
    queryFn: () => api.call('ListKeys', input),
    // While the next page or filter loads the current rows stay, but never another organization's.
    placeholderData: (prev, prevQuery) => ((prevQuery?.queryKey[1] as { org?: string } | undefined)?.org === org.id ? keepPreviousData(prev) : undefined),
  })
  const keys = q.data?.keys ?? []
  const total = q.data?.total ?? 0
  const next = q.data?.nextCursor ?? ''
  const first = page * view.size

  const shown = (created: CreatedKey, rolled: boolean) => {
    holdKey({ id: created.id, name: created.name, start: created.start, key: created.key, orgId: created.orgId })
    setOpen({ kind: 'shown', created, rolled })
  }
  const filtered = view.q || view.status !== 'all' || view.expiring

  return (
    <>
      <PageHeader
        title={t('keys.title')}
        description={t('keys.description')}
        actions={canManage ? (
          <>
            {canAdmin ? <Button icon="download" onClick={exportKeys} pending={exporting}>{t('keys.export.action')}</Button> : null}
            {canAdmin ? <Button icon="upload" onClick={() => setOpen({ kind: 'import' })}>{t('keys.import.action')}</Button> : null}
            <Button variant="primary" icon="plus" onClick={() => setOpen({ kind: 'create' })}>{t('keys.create.action')}</Button>
          </>
        ) : null}
      />
      {!canManage ? (
        <div className="callout callout-info" role="note">
          <Icon name="lock" />
          <p>{t('keys.read_only')}</p>
        </div>
      ) : null}
      <div className="toolbar keys-toolbar">
        <label className="search">
          <Icon name="search" />
          <span className="sr-only">{t('keys.search.label')}</span>
          <input type="search" className="input input-sm" value={typed} onChange={(e) => setTyped(e.target.value)} placeholder={t('keys.search.label')} maxLength={64} />
        </label>
        <div className="segmented" role="radiogroup" aria-label={t('keys.filter.label')}>
          {filters.map((f, i) => (
            <button
              key={f}
              type="button"
              role="radio"
              aria-checked={view.status === f}
              tabIndex={view.status === f ? 0 : -1}
              className="segment"
              onClick={() => setView({ status: f })}
              onKeyDown={(e) => {
                // Arrow keys move within the radio group (mirrored in right-to-left layouts).
                const rtl = document.documentElement.dir === 'rtl'
                const step = { ArrowRight: rtl ? -1 : 1, ArrowDown: 1, ArrowLeft: rtl ? 1 : -1, ArrowUp: -1 }[e.key]
                if (!step) return
                e.preventDefault()
                setView({ status: filters[(i + step + filters.length) % filters.length] })
                const group = e.currentTarget.parentElement
                window.requestAnimationFrame(() => group?.querySelector<HTMLElement>('[aria-checked="true"]')?.focus())
              }}
            >
              {t(`keys.filter.${f}`)}
            </button>
          ))}
        </div>
        <label className="check">
          <input type="checkbox" checked={view.expiring} onChange={(e) => setView({ expiring: e.target.checked })} />
          <span>{t('keys.filter.expiring')}</span>
        </label>
        <label className="filter keys-sort">
          <span className="sr-only">{t('keys.sort.label')}</span>
          <Icon name="sort" />
          <select className="input input-sm" value={view.sort} onChange={(e) => setView({ sort: e.target.value })}>
            {sorts.map(([value, label]) => <option key={value} value={value}>{t(label)}</option>)}
          </select>
        </label>
      </div>
      {q.isPending ? (
        <Loading />
      ) : q.isError ? (
        <ErrorState error={q.error as ApiError} onRetry={() => q.refetch()} />
      ) : keys.length === 0 ? (
        !filtered ? (
          <EmptyState
            title={t('keys.empty.title')}
            action={canManage ? <Button variant="primary" icon="plus" onClick={() => setOpen({ kind: 'create' })}>{t('keys.create.action')}</Button> : null}
          >
            <p>{t('keys.empty.body')}</p>
          </EmptyState>
        ) : (
          <EmptyState
            icon="search"
            title={view.q ? t('keys.empty.search', { Query: view.q }) : view.expiring ? t('keys.empty.expiring') : t('keys.empty.filtered', { Status: t(`keys.filter.${view.status}`) })}
          />
        )
      ) : (
        <>
          <KeysTable
            keys={keys}
            canManage={canManage}
            onRoll={(k) => setOpen({ kind: 'roll', key: k })}
            onRevoke={(k) => setOpen({ kind: 'revoke', key: k })}
            onEdit={(k) => setOpen({ kind: 'edit', key: k })}
            onDisable={(k) => setOpen({ kind: 'disable', key: k })}
          />
          <nav className="pager" aria-label={t('keys.page.label')}>
            <span className="muted small" aria-live="polite">
              {t('keys.page.range', { From: first + 1, To: first + keys.length, Total: total })}
            </span>
            <label className="filter">
              <span>{t('keys.page.size')}</span>
              <select className="input input-sm" value={view.size} onChange={(e) => setView({ size: Number(e.target.value) })}>
                {pageSizes.map((n) => <option key={n} value={n}>{number(n)}</option>)}
              </select>
            </label>
            <Button size="sm" onClick={() => setPage(page - 1)} disabled={page === 0}>{t('keys.page.prev')}</Button>
            <Button
              size="sm"
              onClick={() => { setCursors((c) => [...c.slice(0, page + 1), next]); setPage(page + 1) }}
              disabled={!next}
              pending={q.isPlaceholderData}
            >
              {t('keys.page.next')}
            </Button>
          </nav>
        </>
      )}
      {open?.kind === 'import' ? <ImportKeysDialog orgId={org.id} onClose={() => setOpen(null)} /> : null}
      {open?.kind === 'create' ? <KeyDialog mode="create" orgId={org.id} onClose={() => setOpen(null)} onCreated={(c) => shown(c, false)} /> : null}
      {open?.kind === 'shown' ? <ShowKeyOnceDialog created={open.created} rolled={open.rolled} onClose={() => setOpen(null)} /> : null}
      {open?.kind === 'revoke' ? <RevokeKeyDialog k={open.key} onClose={() => setOpen(null)} /> : null}
      {open?.kind === 'roll' ? <RollKeyDialog k={open.key} onClose={() => setOpen(null)} onRolled={(c) => shown(c, true)} /> : null}
      {open?.kind === 'edit' ? <KeyDialog mode="edit" k={open.key} onClose={() => setOpen(null)} /> : null}
      {open?.kind === 'disable' ? <DisableKeyDialog k={open.key} onClose={() => setOpen(null)} /> : null}
    </>
  )
}
