import { useState, type FormEvent } from 'react'
import { useAction } from '../../api/context'
import type { Route, RouteInput } from '../../api/types'
import { Dialog } from '../../components/Dialog'
import { Field } from '../../components/Field'
import { Button } from '../../components/Button'
import { InlineError } from '../../components/States'
import { useI18n } from '../../i18n/i18n'
import { useSession } from '../../session'

/** RouteForm is a route's input with every field present, as the form edits it. */
type RouteForm = { [K in keyof RouteInput]-?: NonNullable<RouteInput[K]> }

const empty: RouteForm = { prefix: '/', upstream: '', stripPrefix: false, orgId: '', openapiSource: '', authRequired: true, queryKeyParam: '', maxBodyBytes: 0, validateRequests: false, consoleSession: false, learn: false }

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
  const [v, setV] = useState<RouteForm>(() => (route ? { ...empty, ...route } : empty))
  const [errs, setErrs] = useState<Record<string, string>>({})
  const set = <K extends keyof RouteForm>(k: K, val: RouteForm[K]) => setV((x) => ({ ...x, [k]: val }))

  const submit = (e: FormEvent) => {
    e.preventDefault()
    const next: Record<string, string> = {}
    if (!v.prefix.startsWith('/')) next.prefix = t('gateway.route.prefix.invalid')
    if (!validUrl(v.upstream.trim())) next.upstream = t('gateway.route.url.invalid')
    if (v.openapiSource.trim().match(/^[a-z]+:\/\//i) && !validUrl(v.openapiSource.trim())) next.openapiSource = t('gateway.route.url.invalid')
    setErrs(next)
    if (Object.keys(next).length) return
    const input = { ...v, prefix: v.prefix.trim(), upstream: v.upstream.trim(), openapiSource: v.openapiSource.trim(), queryKeyParam: v.queryKeyParam.trim() }
    if (route) update.mutate({ ...input, id: route.id }, { onSuccess: onClose })
    else add.mutate(input, { onSuccess: onClose })
  }
  const fe = (f: string) => errs[f] || m.error?.fieldError?.(f)
  const anyField = ['prefix', 'upstream', 'openapiSource', 'maxBodyBytes', 'queryKeyParam'].some((f) => m.error?.fieldError?.(f))

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
        </div>
        {!anyField ? <InlineError error={m.error} /> : null}
      </form>
    </Dialog>
  )
}
