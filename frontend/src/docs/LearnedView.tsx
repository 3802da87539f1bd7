import { useEffect, useMemo, useRef, useState } from 'react'
import { createApiReference } from '@scalar/api-reference'
import { useAction, useOp } from '../api/context'
import type { LearnedDocument } from '../api/operations'
import { Button } from '../components/Button'
import { InlineError, Loading } from '../components/States'
import { useToast } from '../components/Toasts'
import { useI18n } from '../i18n/i18n'
import { useSession } from '../session'
import type { DocsViewerProps } from '../pages/docs/DocsPage'
import { scalarConfig } from './config'

/**
 * LearnedView shows the OpenAPI document Keygate learned from a route's traffic: what is new
 * compared with the route's current document, the document itself in Scalar ("try it" goes
 * through the gateway), and the actions to adopt it as the route's document or export it.
 */
export function LearnedView(props: DocsViewerProps) {
  const { t, bidi } = useI18n()
  const { can } = useSession()
  const toast = useToast()
  const routes = useOp('ListRoutes', {})
  const list = useMemo(() => routes.data?.routes ?? [], [routes.data])
  const [picked, setPicked] = useState('')
  const route = list.find((r) => r.id === picked) ?? list.find((r) => r.learn) ?? list[0]
  const learned = useOp('GetLearnedDocument', { id: route?.id ?? '' }, { enabled: !!route, refetchInterval: 5000 })
  const adopt = useAction('AdoptLearnedDocument', ['ListRoutes', 'GetLearnedDocument'])

  if (routes.isPending) return <Loading rows={4} />
  if (!route || !list.some((r) => r.learn) && !learned.data?.document) {
    return <div className="learned" data-testid="learned-view"><p className="notice">{t('docs.learned.none_learning')}</p></div>
  }
  const ld = learned.data
  return (
    <div className="learned" data-testid="learned-view">
      <div className="toolbar learned-bar">
        <label className="filter">
          <span>{t('docs.learned.route')}</span>
          <select className="input input-sm" value={route.id} onChange={(e) => setPicked(e.target.value)} data-testid="learned-route">
            {list.map((r) => <option key={r.id} value={r.id}>{bidi(r.prefix)}</option>)}
          </select>
        </label>
        {ld?.document ? (
          <>
            <span className="muted small" data-testid="learned-summary">{t('docs.learned.summary', { Operations: ld.operations, Exchanges: ld.exchanges })}</span>
            <span className="learned-actions">
              {can('admin') ? (
                <Button size="sm" variant="primary" pending={adopt.isPending} data-testid="learned-adopt"
                  onClick={() => adopt.mutate({ id: route.id }, { onSuccess: () => toast(t('docs.learned.adopted')) })}>
                  {t('docs.learned.adopt')}
                </Button>
              ) : null}
              <a className="btn btn-secondary btn-sm" data-testid="learned-export" download={`learned${route.prefix === '/' ? '' : route.prefix.replaceAll('/', '-')}.json`}
                href={`data:application/json;charset=utf-8,${encodeURIComponent(ld.document)}`}>{t('docs.learned.export')}</a>
            </span>
          </>
        ) : null}
      </div>
      <InlineError error={adopt.error ?? learned.error} />
      {learned.isPending ? <Loading rows={4} /> : !ld?.document ? (
        <p className="notice" data-testid="learned-empty">{t('docs.learned.empty')}</p>
      ) : (
        <>
          <LearnedChanges ld={ld} />
          <LearnedScalar ld={ld} strip={route.stripPrefix} {...props} />
        </>
      )}
    </div>
  )
}

/** LearnedChanges lists the operations and fields the route's current document lacks. */
function LearnedChanges({ ld }: { ld: LearnedDocument }) {
  const { t } = useI18n()
  const none = ld.newOperations.length === 0 && ld.newFields.length === 0
  return (
    <section className="learned-changes" aria-labelledby="learned-new-title" data-testid="learned-changes">
      <h2 id="learned-new-title" className="card-title">{t('docs.learned.new.title')}</h2>
      {!ld.currentSource ? <p className="muted small">{t('docs.learned.new.no_document')}</p> : null}
      {ld.currentError ? <p className="muted small">{t('docs.learned.new.current_error')}</p> : null}
      {ld.currentSource && !ld.currentError && none ? <p className="muted small">{t('docs.learned.new.none')}</p> : null}
      {ld.newOperations.length > 0 ? (
        <>
          <h3 className="small">{t('docs.learned.new.operations')}</h3>
          <ul className="learned-list" data-testid="learned-new-operations">
            {ld.newOperations.map((o) => <li key={o.method + o.path}><code dir="ltr">{o.method.toUpperCase()} {o.path}</code></li>)}
          </ul>
        </>
      ) : null}
      {ld.newFields.length > 0 ? (
        <>
          <h3 className="small">{t('docs.learned.new.fields')}</h3>
          <ul className="learned-list" data-testid="learned-new-fields">
            {ld.newFields.map((f) => (
              <li key={f.method + f.path + f.in + f.name}><code dir="ltr">{f.method.toUpperCase()} {f.path} · {f.in} · {f.name}</code></li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  )
}

/** LearnedScalar renders the learned document; "try it" goes through the gateway with the chosen key. */
function LearnedScalar({ ld, strip, ...props }: { ld: LearnedDocument; strip: boolean } & DocsViewerProps) {
  const host = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (!host.current) return
    const doc = JSON.parse(ld.document) as Record<string, unknown>
    // Viewed through the gateway: its URL (plus the prefix the gateway strips) and a key.
    const base = props.gatewayUrl ? props.gatewayUrl.replace(/\/$/, '') + (strip && ld.prefix !== '/' ? ld.prefix : '') : ''
    if (base) doc.servers = [{ url: base, description: 'Keygate gateway' }]
    doc.components = { ...(doc.components as object | undefined), securitySchemes: { ApiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key' } } }
    doc.security = [{ ApiKeyHeader: [] }]
    const el = document.createElement('div')
    host.current.replaceChildren(el)
    const config = scalarConfig({ api: 'gateway', document: doc, lang: props.lang, dir: props.dir, theme: props.theme, apiKey: props.apiKey, gatewayUrl: '' })
    const instance = createApiReference(el, config)
    return () => instance.destroy()
  }, [ld.document, ld.prefix, strip, props.gatewayUrl, props.lang, props.dir, props.theme, props.apiKey])
  return <div ref={host} className="docs-scalar" dir={props.dir} data-testid="learned-scalar" />
}
