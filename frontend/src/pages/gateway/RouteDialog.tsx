import { useState, type FormEvent } from 'react'
import { useAction } from '../../api/context'
import type { Route, RouteInput } from '../../api/types'
import { Dialog } from '../../components/Dialog'
import { Field } from '../../components/Field'
import { Button } from '../../components/Button'
import { InlineError } from '../../components/States'
import { useToast } from '../../components/Toasts'
import { useI18n } from '../../i18n/i18n'
import { useSession } from '../../session'

/** RouteForm is a route's input with every field present, as the form edits it. */
type RouteForm = { [K in keyof RouteInput]-?: NonNullable<RouteInput[K]> }

const empty: RouteForm = { prefix: '/', upstream: '', stripPrefix: false, orgId: '', openapiSource: '', authRequired: true, queryKeyParam: '', maxBodyBytes: 0, validateRequests: false, consoleSession: false, learn: false, scopes: [], identityJwt: false }

/** formOf is a stored route's editable fields (the answer also has ids, times and what its document declares). */
function formOf(r: Route): RouteForm {
  const f = { ...empty }
  for (const k of Object.keys(empty) as (keyof RouteForm)[]) (f as Record<string, unknown>)[k] = r[k] ?? empty[k]
  return f
}

/** warningMessage is the message of each warning a save can answer with. */
const warningMessage = {
  document_unreadable: 'routes.warning.document_unreadable',
  document_unreadable_kept: 'routes.warning.document_unreadable_kept',
} as const

/** scopePattern is a scope a route can require: resource or resource:action, no wildcard, as the server checks it. */
const scopePattern = /^[A-Za-z0-9._/-]+(:[A-Za-z0-9._/-]+)?$/

/** parseScopes reads the scopes field: scopes separated by commas or spaces. */
export function parseScopes(s: string): { scopes: string[]; bad: string[] } {
  const words = s.split(/[\s,]+/).filter(Boolean)
  return { scopes: [...new Set(words)], bad: words.filter((w) => !scopePattern.test(w) || w.length > 128) }
}

/** validUrl accepts absolute http and https URLs, as the gateway does. */
export function validUrl(s: string): boolean {
  try {
    const u = new URL(s)
    return (u.protocol === 'http:' || u.protocol === 'https:') && !!u.host
  } catch {
    return false
  }
}

/** RouteDialog adds or edits a route, checking URLs and prefixes before the server does. */
export function RouteDialog({ route, onClose }: { route: Route | null; onClose: () => void }) {
  const { t, bidi } = useI18n()
  const { orgs } = useSession()
  const add = useAction('AddRoute', ['ListRoutes'])
  const update = useAction('UpdateRoute', ['ListRoutes'])
  const m = route ? update : add
  const toast = useToast()
  const [v, setV] = useState<RouteForm>(() => (route ? formOf(route) : empty))
  const [scopesText, setScopesText] = useState(() => (route?.scopes ?? []).join(', '))
  const [errs, setErrs] = useState<Record<string, string>>({})
  const declared = [...new Set([...(route?.documentScopes?.default ?? []), ...(route?.documentScopes?.operations ?? []).flatMap((o) => o.scopes)])].sort()
  // A field's own message goes once it is changed; the next save checks it again.
  const clearError = (k: string) => setErrs((x) => (k in x ? Object.fromEntries(Object.entries(x).filter(([f]) => f !== k)) : x))
  const set = <K extends keyof RouteForm>(k: K, val: RouteForm[K]) => {
    setV((x) => ({ ...x, [k]: val }))
    clearError(k)
  }

  const submit = (e: FormEvent) => {
    e.preventDefault()
    const next: Record<string, string> = {}
    if (!v.prefix.startsWith('/')) next.prefix = t('gateway.route.prefix.invalid')
    if (!validUrl(v.upstream.trim())) next.upstream = t('gateway.route.url.invalid')
    if (v.openapiSource.trim().match(/^[a-z]+:\/\//i) && !validUrl(v.openapiSource.trim())) next.openapiSource = t('gateway.route.url.invalid')
    const sc = parseScopes(scopesText)
    if (sc.bad.length) next.scopes = t('gateway.route.scopes.invalid', { Scopes: sc.bad.join(', ') })
    setErrs(next)
    if (Object.keys(next).length) return
    const input = { ...v, prefix: v.prefix.trim(), upstream: v.upstream.trim(), openapiSource: v.openapiSource.trim(), queryKeyParam: v.queryKeyParam.trim(), scopes: sc.scopes }
    const done = (r: Route) => {
      if (r.warning) toast(t(warningMessage[r.warning], { Detail: r.warningDetail ?? '' }), 'error')
      onClose()
    }
    if (route) update.mutate({ ...input, id: route.id }, { onSuccess: done })
    else add.mutate(input, { onSuccess: done })
  }
  const fe = (f: string) => errs[f] || m.error?.fieldError?.(f)
  const anyField = ['prefix', 'upstream', 'openapiSource', 'maxBodyBytes', 'queryKeyParam', 'scopes'].some((f) => m.error?.fieldError?.(f))

  return (
    <Dialog
      title={route ? t('gateway.routes.edit.title') : t('gateway.routes.add.title')}
      onClose={onClose}
      wide
      footer={
        <>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button variant="primary" type="submit" form="route-form" pending={m.isPending}>{t('common.save')}</Button>
        </>
      }
    >
      <form id="route-form" className="form form-grid" onSubmit={submit} noValidate>
        <Field label={t('gateway.route.prefix')} hint={t('gateway.route.prefix.hint')} error={fe('prefix')}>
          <input className="input mono" dir="ltr" value={v.prefix} onChange={(e) => set('prefix', e.target.value)} data-autofocus />
        </Field>
        <Field label={t('gateway.route.upstream')} hint={t('gateway.route.upstream.hint')} error={fe('upstream')}>
          <input className="input mono" dir="ltr" value={v.upstream} onChange={(e) => set('upstream', e.target.value)} placeholder="http://127.0.0.1:3000" />
        </Field>
        <Field label={t('gateway.route.openapi')} hint={t('gateway.route.openapi.hint')} error={fe('openapiSource')}>
          <input className="input mono" dir="ltr" value={v.openapiSource} onChange={(e) => set('openapiSource', e.target.value)} />
        </Field>
        <Field label={t('gateway.route.scopes')} hint={declared.length ? t('gateway.route.scopes.declared', { Scopes: declared.join(', ') }) : t('gateway.route.scopes.hint')} error={fe('scopes')}>
          <input className="input mono" dir="ltr" value={scopesText} onChange={(e) => { setScopesText(e.target.value); clearError('scopes') }} />
        </Field>
        <Field label={t('gateway.route.org')}>
          <select className="input" value={v.orgId} onChange={(e) => set('orgId', e.target.value)}>
            <option value="">{t('gateway.route.org.any')}</option>
            {orgs.map((o) => <option key={o.id} value={o.id}>{bidi(o.name)}</option>)}
          </select>
        </Field>
        <Field label={t('gateway.route.query_keys')} hint={t('gateway.route.query_keys.hint')} error={fe('queryKeyParam')}>
          <input className="input mono" dir="ltr" value={v.queryKeyParam} onChange={(e) => set('queryKeyParam', e.target.value)} />
        </Field>
        <Field label={t('gateway.route.body_limit_bytes')} hint={t('gateway.route.body_limit.hint')} error={fe('maxBodyBytes')}>
          <input className="input" type="number" min={0} value={v.maxBodyBytes} onChange={(e) => set('maxBodyBytes', Math.max(0, Number(e.target.value) || 0))} />
        </Field>
        <div className="checks">
          <label className="check"><input type="checkbox" checked={v.stripPrefix} onChange={(e) => set('stripPrefix', e.target.checked)} /> {t('gateway.route.strip')}</label>
          <label className="check"><input type="checkbox" checked={v.authRequired} onChange={(e) => set('authRequired', e.target.checked)} /> {t('gateway.route.auth_required')}</label>
          <label className="check"><input type="checkbox" checked={v.validateRequests} onChange={(e) => set('validateRequests', e.target.checked)} /> {t('gateway.route.validate')}</label>
          <label className="check"><input type="checkbox" checked={v.learn} onChange={(e) => set('learn', e.target.checked)} /> {t('gateway.route.learn')}</label>
          <label className="check"><input type="checkbox" checked={v.consoleSession} onChange={(e) => set('consoleSession', e.target.checked)} /> {t('gateway.route.console_session')}</label>
          <label className="check"><input type="checkbox" checked={v.identityJwt} onChange={(e) => set('identityJwt', e.target.checked)} /> {t('gateway.route.identity_jwt')}</label>
        </div>
        {!anyField ? <InlineError error={m.error} /> : null}
      </form>
    </Dialog>
  )
}
