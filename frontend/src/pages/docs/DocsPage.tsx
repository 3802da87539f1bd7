import { Suspense, lazy, useMemo, useState, type ComponentType } from 'react'
import { useOp } from '../../api/context'
import { PageHeader } from '../../components/PageHeader'
import { EmptyState, Loading } from '../../components/States'
import { useI18n } from '../../i18n/i18n'
import { useHeldKeys } from '../../keyring'
import { useSession } from '../../session'
import { useTheme } from '../../theme'
import { ExportDocument } from './ExportDocument'

/** DocsViewerProps is the contract with frontend/src/docs/DocsViewer.tsx (the OpenAPI viewer). */
export interface DocsViewerProps {
  lang: string
  dir: 'ltr' | 'rtl'
  theme: 'light' | 'dark'
  apiKey: string
  gatewayUrl: string
}

// The viewer lives in src/docs (its own owner and dependencies); a build without it still works.
const viewers = import.meta.glob<{ default: ComponentType<DocsViewerProps> }>('../../docs/DocsViewer.tsx')
const load = viewers['../../docs/DocsViewer.tsx']
const Viewer = load ? lazy(load) : null

/** DocsPage shows the interactive API docs with a key picker for "try it" requests. */
export function DocsPage() {
  const { t, lang, dir, bidi } = useI18n()
  const { resolved } = useTheme()
  const { org } = useSession()
  const held = useHeldKeys().filter((k) => k.orgId === org.id)
  const status = useOp('GetGatewayStatus', {})
  const [picked, setPicked] = useState('')
  const [pasted, setPasted] = useState('')
  const apiKey = picked === 'paste' ? pasted.trim() : held.find((k) => k.id === picked)?.key ?? ''
  const props = useMemo(() => ({ lang, dir, theme: resolved, apiKey, gatewayUrl: status.data?.url ?? '' }), [lang, dir, resolved, apiKey, status.data?.url])

  return (
    <div className="docs-page">
      <PageHeader title={t('docs.title')} description={t('docs.description')} />
      <div className="toolbar docs-keybar">
        <label className="filter">
          <span>{t('docs.key.label')}</span>
          <select className="input input-sm" value={picked} onChange={(e) => setPicked(e.target.value)} data-testid="docs-key-picker">
            <option value="">{t('docs.key.none')}</option>
            {held.map((k) => <option key={k.id} value={k.id}>{`${bidi(k.name)} (${bidi(`${k.start}…`)})`}</option>)}
            <option value="paste">{t('docs.key.paste')}</option>
          </select>
        </label>
        {picked === 'paste' ? (
          <input
            className="input input-sm mono"
            dir="ltr"
            type="password"
            autoComplete="off"
            aria-label={t('docs.key.paste')}
            placeholder={t('docs.key.paste.placeholder')}
            value={pasted}
            onChange={(e) => setPasted(e.target.value)}
          />
        ) : null}
        <span className="muted small">{t('docs.key.hint')}</span>
        <ExportDocument />
      </div>
      <div className="docs-frame">
        {Viewer ? (
          <Suspense fallback={<Loading rows={6} />}>
            <Viewer {...props} />
          </Suspense>
        ) : (
          <EmptyState icon="book" title={t('docs.unavailable.title')}>
            <p>{t('docs.unavailable.body')}</p>
            <p><a href="/openapi/gateway.json" target="_blank" rel="noreferrer">{t('docs.gateway_document')}</a>{' · '}<a href="/openapi/console.json" target="_blank" rel="noreferrer">{t('docs.console_document')}</a></p>
          </EmptyState>
        )}
      </div>
    </div>
  )
}
