import { useEffect, useRef, useState } from 'react'
import { createApiReference } from '@scalar/api-reference'
import '@scalar/api-reference/style.css'
import type { DocsViewerProps } from '../pages/docs/DocsPage'
import { useT } from '../i18n/i18n'
import { scalarConfig, type ApiName } from './config'
import { loadDocument } from './documents'
import { LearnedView } from './LearnedView'
import { completeAria, relabel } from './relabel'

type Loaded = { api: ApiName; doc: object } | { api: ApiName; error: string }

/**
 * DocsViewer shows Keygate's console and gateway OpenAPI documents in Scalar, bundled and
 * offline. "Try it" on the gateway document sends the chosen key in x-api-key (kept in memory
 * only) or, with no key, the console session cookie.
 */
export default function DocsViewer(props: DocsViewerProps) {
  const t = useT()
  const [api, setApi] = useState<ApiName | 'learned'>('gateway')
  const [loaded, setLoaded] = useState<Loaded | null>(null)
  const apiKey = useDebounced(props.apiKey, 250)
  const host = useRef<HTMLDivElement>(null)

  useEffect(() => {
    let live = true
    setLoaded(null)
    if (api === 'learned') return
    loadDocument(api, props.lang).then(
      (doc) => live && setLoaded({ api, doc }),
      (e: unknown) => live && setLoaded({ api, error: e instanceof Error ? e.message : String(e) }),
    )
    return () => { live = false }
  }, [api, props.lang])

  useEffect(() => {
    if (!host.current || !loaded || !('doc' in loaded)) return
    const el = document.createElement('div')
    host.current.replaceChildren(el)
    const instance = createApiReference(el, scalarConfig({
      api: loaded.api, document: loaded.doc, lang: props.lang, dir: props.dir, theme: props.theme,
      apiKey, gatewayUrl: props.gatewayUrl, gatewayName: t('openapi.gateway.title'),
    }))
    // Scalar mounts its "try it" client inside el too.
    const stops = [relabel(el, scalarTexts(t)), completeAria(el)]
    return () => { stops.forEach((stop) => stop()); instance.destroy() }
  }, [loaded, props.lang, props.dir, props.theme, props.gatewayUrl, apiKey, t])

  const tab = (name: ApiName | 'learned', label: string) => (
    <button
      type="button"
      role="tab"
      aria-selected={api === name}
      className={api === name ? 'btn btn-sm btn-primary' : 'btn btn-sm'}
      onClick={() => setApi(name)}
      data-testid={`docs-switch-${name}`}
    >
      {label}
    </button>
  )

  return (
    <div className="docs-viewer" data-testid="docs-viewer" data-api={api}>
      <div role="tablist" className="toolbar docs-switcher">
        {tab('gateway', t('docs.gateway_document'))}
        {tab('console', t('docs.console_document'))}
        {tab('learned', t('docs.learned'))}
      </div>
      {api === 'learned' ? <LearnedView {...props} /> : null}
      {loaded && 'error' in loaded ? (
        <div role="alert" className="notice notice-error">
          <p>{t('docs.unavailable.body')}</p>
          <p className="mono small">{loaded.error}</p>
        </div>
      ) : null}
      {api !== 'learned' ? <div ref={host} className="docs-scalar" dir={props.dir} /> : null}
    </div>
  )
}

export { DocsViewer as DocsScreen }

/** scalarTexts are the English texts Scalar writes itself, in the console's language. */
function scalarTexts(t: ReturnType<typeof useT>): Record<string, string> {
  return {
    Copy: t('common.copy'),
    Copied: t('common.copied'),
    'Code sample': t('docs.scalar.code_sample'),
    More: t('docs.scalar.more'),
    'Show Less': t('docs.scalar.less'),
    'Open Group': t('docs.scalar.open_group'),
    'Close Group': t('docs.scalar.close_group'),
    // The screen-reader names of keys in shortcuts (@scalar/components ScalarHotkey).
    Command: t('docs.scalar.key.command'),
    Control: t('docs.scalar.key.control'),
    Option: t('docs.scalar.key.option'),
    Alt: t('docs.scalar.key.alt'),
    Shift: t('docs.scalar.key.shift'),
    'Caps Lock': t('docs.scalar.key.caps_lock'),
    Enter: t('docs.scalar.key.enter'),
    'Left Arrow': t('docs.scalar.key.left'),
    'Right Arrow': t('docs.scalar.key.right'),
    'Up Arrow': t('docs.scalar.key.up'),
    'Down Arrow': t('docs.scalar.key.down'),
  }
}

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value)
  useEffect(() => {
    const id = setTimeout(() => setV(value), ms)
    return () => clearTimeout(id)
  }, [value, ms])
  return v
}
