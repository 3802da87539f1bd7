import { useState } from 'react'
import { useInfiniteQuery } from '@tanstack/react-query'
import { useApi } from '../../api/context'
import type { ApiError } from '../../api/error'
import type { CreatedKey, Key, KeyStatus } from '../../api/types'
import { Button } from '../../components/Button'
import { PageHeader } from '../../components/PageHeader'
import { EmptyState, ErrorState, Loading } from '../../components/States'
import { Icon } from '../../components/Icon'
import { useT } from '../../i18n/i18n'
import { useSession } from '../../session'
import { holdKey } from '../../keyring'
import { KeysTable } from './KeysTable'
import { CreateKeyDialog } from './CreateKeyDialog'
import { ShowKeyOnceDialog } from './ShowKeyOnceDialog'
import { RevokeKeyDialog } from './RevokeKeyDialog'
import { RollKeyDialog } from './RollKeyDialog'
import { RenameKeyDialog } from './RenameKeyDialog'

type Filter = KeyStatus | 'all'
const filters: Filter[] = ['all', 'active', 'expired', 'revoked']

type Open =
  | { kind: 'create' }
  | { kind: 'shown'; created: CreatedKey; rolled: boolean }
  | { kind: 'revoke' | 'roll' | 'rename'; key: Key }
  | null

/** KeysPage is the API keys screen: the table, its filter and the key dialogs. */
export function KeysPage() {
  const t = useT()
  const api = useApi()
  const { org, can } = useSession()
  const [status, setStatus] = useState<Filter>('all')
  const [open, setOpen] = useState<Open>(null)
  const canManage = can('developer')

  // The organization id is in the key: another organization's cached keys are never shown.
  const q = useInfiniteQuery({
    queryKey: ['ListKeys', { org: org.id, status }],
    queryFn: ({ pageParam }) => api.call('ListKeys', { org: org.id, status, limit: 50, cursor: pageParam || undefined }),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor || undefined,
  })
  const keys = q.data?.pages.flatMap((p) => p.keys ?? []) ?? []

  const shown = (created: CreatedKey, rolled: boolean) => {
    holdKey({ id: created.id, name: created.name, start: created.start, key: created.key, orgId: created.orgId })
    setOpen({ kind: 'shown', created, rolled })
  }

  return (
    <>
      <PageHeader
        title={t('keys.title')}
        description={t('keys.description')}
        actions={canManage ? <Button variant="primary" icon="plus" onClick={() => setOpen({ kind: 'create' })}>{t('keys.create.action')}</Button> : null}
      />
      {!canManage ? (
        <div className="callout callout-info" role="note">
          <Icon name="lock" />
          <p>{t('keys.read_only')}</p>
        </div>
      ) : null}
      <div className="toolbar">
        <div className="segmented" role="radiogroup" aria-label={t('keys.filter.label')}>
          {filters.map((f, i) => (
            <button
              key={f}
              type="button"
              role="radio"
              aria-checked={status === f}
              tabIndex={status === f ? 0 : -1}
              className="segment"
              onClick={() => setStatus(f)}
              onKeyDown={(e) => {
                // Arrow keys move within the radio group (mirrored in right-to-left layouts).
                const rtl = document.documentElement.dir === 'rtl'
                const step = { ArrowRight: rtl ? -1 : 1, ArrowDown: 1, ArrowLeft: rtl ? 1 : -1, ArrowUp: -1 }[e.key]
                if (!step) return
                e.preventDefault()
                const next = filters[(i + step + filters.length) % filters.length]
                setStatus(next)
                const group = e.currentTarget.parentElement
                window.requestAnimationFrame(() => group?.querySelector<HTMLElement>('[aria-checked="true"]')?.focus())
              }}
            >
              {t(`keys.filter.${f}`)}
            </button>
          ))}
        </div>
        {keys.length ? <span className="muted small">{t('keys.count', { Count: keys.length })}</span> : null}
      </div>
      {q.isPending ? (
        <Loading />
      ) : q.isError ? (
        <ErrorState error={q.error as ApiError} onRetry={() => q.refetch()} />
      ) : keys.length === 0 ? (
        status === 'all' ? (
          <EmptyState
            title={t('keys.empty.title')}
            action={canManage ? <Button variant="primary" icon="plus" onClick={() => setOpen({ kind: 'create' })}>{t('keys.create.action')}</Button> : null}
          >
            <p>{t('keys.empty.body')}</p>
          </EmptyState>
        ) : (
          <EmptyState title={t('keys.empty.filtered', { Status: t(`keys.filter.${status}`) })} />
        )
      ) : (
        <>
          <KeysTable
            keys={keys}
            canManage={canManage}
            onRoll={(k) => setOpen({ kind: 'roll', key: k })}
            onRevoke={(k) => setOpen({ kind: 'revoke', key: k })}
            onRename={(k) => setOpen({ kind: 'rename', key: k })}
          />
          {q.hasNextPage ? (
            <div className="load-more">
              <Button onClick={() => q.fetchNextPage()} pending={q.isFetchingNextPage}>{t('common.load_more')}</Button>
            </div>
          ) : null}
        </>
      )}
      {open?.kind === 'create' ? <CreateKeyDialog orgId={org.id} onClose={() => setOpen(null)} onCreated={(c) => shown(c, false)} /> : null}
      {open?.kind === 'shown' ? <ShowKeyOnceDialog created={open.created} rolled={open.rolled} onClose={() => setOpen(null)} /> : null}
      {open?.kind === 'revoke' ? <RevokeKeyDialog k={open.key} onClose={() => setOpen(null)} /> : null}
      {open?.kind === 'roll' ? <RollKeyDialog k={open.key} onClose={() => setOpen(null)} onRolled={(c) => shown(c, true)} /> : null}
      {open?.kind === 'rename' ? <RenameKeyDialog k={open.key} onClose={() => setOpen(null)} /> : null}
    </>
  )
}
