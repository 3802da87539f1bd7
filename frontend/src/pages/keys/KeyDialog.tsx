import { useMemo, useState, type FormEvent } from 'react'
import { useAction, useOp } from '../../api/context'
import { ApiError } from '../../api/error'
import type { CreatedKey, Key } from '../../api/types'
import { Button } from '../../components/Button'
import { Dialog } from '../../components/Dialog'
import { Field } from '../../components/Field'
import { InlineError } from '../../components/States'
import { useToast } from '../../components/Toasts'
import { useI18n } from '../../i18n/i18n'
import { expiryPresets, tomorrow } from './expiry'
import { durationText } from './keyFacts'
import { MetadataInput, ScopesInput } from './KeyFormFields'
import { checkForm, createInput, emptyForm, formOf, rateWindows, refillIntervals, updateInput, type KeyForm } from './keyForm'

type Props =
  | { mode: 'create'; orgId: string; onClose: () => void; onCreated: (k: CreatedKey) => void }
  | { mode: 'edit'; k: Key; onClose: () => void }

// ipExample is a technical example, the same in every language.
const ipExample = '203.0.113.0/24\n2001:db8::/32'

const fields = ['name', 'expires', 'scopes', 'metadata', 'allowIps', 'rateLimit', 'rateWindowSeconds', 'quota', 'refillAmount', 'refillIntervalSeconds'] as const

/** KeyDialog creates a key, or edits one: name, expiry, scopes (offered from the routes'
 * documents), metadata, IP allowlist, rate limit, quota and refill. An edit sends only what
 * changed. */
export function KeyDialog(props: Props) {
  const { t, number, date: dateText } = useI18n()
  const toast = useToast()
  const editing = props.mode === 'edit' ? props.k : null
  const create = useAction('CreateKey', ['ListKeys'])
  const update = useAction('UpdateKey', ['ListKeys', 'GetKey'])
  const call = editing ? update : create
  const orgId = props.mode === 'edit' ? props.k.orgId : props.orgId
  const scopes = useOp('ListScopes', { org: orgId }, { staleTime: 30_000 })
  const [form, setForm] = useState<KeyForm>(() => (editing ? formOf(editing) : emptyForm()))
  const [checked, setChecked] = useState(false)
  const set = (p: Partial<KeyForm>) => setForm((f) => ({ ...f, ...p }))
  const { errors, metaErrors } = useMemo(() => checkForm(form, t), [form, t])
  const formId = editing ? 'edit-key-form' : 'create-key-form'

  const submit = (e: FormEvent) => {
    e.preventDefault()
    setChecked(true)
    if (Object.keys(errors).length || metaErrors.some(Boolean)) return
    if (editing) {
      const changes = updateInput(form, editing)
      if (Object.keys(changes).length === 0) return props.onClose()
      update.mutate({ org: orgId, id: editing.id, ...changes }, {
        onSuccess: (k) => {
          toast(t('keys.edit.done', { Name: k.name }))
          props.onClose()
        },
      })
    } else if (props.mode === 'create') {
      const input = createInput(form)
      create.mutate({ org: orgId, ...input, name: input.name ?? '' }, { onSuccess: (k) => props.onCreated(k) })
    }
  }

  const server = call.error instanceof ApiError ? call.error : null
  const serverField = (...names: string[]) => names.map((n) => server?.fieldError(n)).find(Boolean)
  const shownErr = (f: keyof typeof errors) => (checked ? errors[f] : undefined)
  const unplaced = server && !fields.some((f) => server.fieldError(f)) ? call.error : null
  const offered = scopes.data ? (scopes.data.scopes ?? []).map((s) => s.scope) : scopes.isError ? [] : undefined
  const routesOf = Object.fromEntries((scopes.data?.scopes ?? []).map((s) => [s.scope, s.routes ?? []]))
  const windowOptions = rateWindows.includes(form.rateWindow) ? rateWindows : [...rateWindows, form.rateWindow].sort((a, b) => a - b)
  const intervalOptions = refillIntervals.includes(form.refillInterval) ? refillIntervals : [...refillIntervals, form.refillInterval].sort((a, b) => a - b)
  const durationOption = (prefix: string, s: number, presets: number[]) => (presets.includes(s) ? t(`${prefix}.${s}`) : durationText(number, s))

  return (
    <Dialog
      title={editing ? t('keys.edit.title', { Name: editing.name }) : t('keys.create.title')}
      description={editing ? t('keys.edit.description') : t('keys.create.description')}
      onClose={props.onClose}
      wide
      footer={
        <>
          <Button onClick={props.onClose}>{t('common.cancel')}</Button>
          <Button variant="primary" type="submit" form={formId} pending={call.isPending}>{editing ? t('keys.edit.submit') : t('keys.create.submit')}</Button>
        </>
      }
    >
      <form id={formId} className="form key-form" onSubmit={submit} noValidate>
        <div className="form form-grid">
          <Field label={t('keys.field.name')} hint={editing ? undefined : t('keys.create.name.hint')} error={shownErr('name') || serverField('name')}>
            <input className="input" value={form.name} onChange={(e) => set({ name: e.target.value })} maxLength={64} autoComplete="off" data-autofocus placeholder={t('keys.create.name.placeholder')} />
          </Field>
          <Field label={t('keys.field.expires')} error={form.expiry === 'custom' ? undefined : serverField('expires')}>
            <select className="input" value={form.expiry} onChange={(e) => set({ expiry: e.target.value as KeyForm['expiry'] })}>
              {editing?.expiresAt ? <option value="keep">{t('keys.form.expiry.keep', { Date: dateText(editing.expiresAt) })}</option> : null}
              {expiryPresets.map((p) => <option key={p} value={p}>{t(`keys.expiry.${p}`)}</option>)}
            </select>
          </Field>
          {form.expiry === 'custom' ? (
            <Field label={t('keys.create.expiry.custom.label')} error={shownErr('expires') || serverField('expires')}>
              <input className="input" type="date" min={tomorrow()} value={form.date} onChange={(e) => set({ date: e.target.value })} />
            </Field>
          ) : null}
        </div>

        <section className="form-section" aria-labelledby={`${formId}-access`}>
          <h3 className="form-section-title" id={`${formId}-access`}>{t('keys.detail.access')}</h3>
          <ScopesInput scopes={form.scopes} onChange={(s) => set({ scopes: s })} offered={offered} routesOf={routesOf} error={shownErr('scopes') || serverField('scopes')} />
          <Field label={t('keys.field.allow_ips')} hint={t('keys.form.allow_ips.hint')} error={serverField('allowIps')}>
            <textarea className="input input-mono" dir="ltr" rows={3} value={form.allowIps} onChange={(e) => set({ allowIps: e.target.value })} spellCheck={false} placeholder={ipExample} />
          </Field>
        </section>

        <section className="form-section" aria-labelledby={`${formId}-limits`}>
          <h3 className="form-section-title" id={`${formId}-limits`}>{t('keys.detail.limits')}</h3>
          <div className="form form-grid">
            <Field label={t('keys.field.rate_limit')} hint={t('keys.form.rate.hint')} error={shownErr('rateLimit') || serverField('rateLimit', 'rateWindowSeconds')}>
              <input className="input" inputMode="numeric" value={form.rateLimit} onChange={(e) => set({ rateLimit: e.target.value })} placeholder="0" />
            </Field>
            <Field label={t('keys.form.rate.window')}>
              <select className="input" value={form.rateWindow} onChange={(e) => set({ rateWindow: Number(e.target.value) })}>
                {windowOptions.map((w) => <option key={w} value={w}>{durationOption('keys.rate.window', w, rateWindows)}</option>)}
              </select>
            </Field>
            <Field label={editing ? t('keys.field.quota_remaining') : t('keys.field.quota')} hint={editing ? t('keys.form.quota.edit_hint') : t('keys.form.quota.hint')} error={shownErr('quota') || serverField('quota', 'removeQuota')}>
              <input className="input" inputMode="numeric" value={form.quota} onChange={(e) => set({ quota: e.target.value })} />
            </Field>
            <div />
            <Field label={t('keys.form.refill.amount')} hint={t('keys.form.refill.hint')} error={shownErr('refill') || serverField('refillAmount', 'refillIntervalSeconds', 'refill')}>
              <input className="input" inputMode="numeric" value={form.refillAmount} onChange={(e) => set({ refillAmount: e.target.value })} />
            </Field>
            <Field label={t('keys.form.refill.interval')}>
              <select className="input" value={form.refillInterval} onChange={(e) => set({ refillInterval: Number(e.target.value) })}>
                {intervalOptions.map((w) => <option key={w} value={w}>{durationOption('keys.refill.interval', w, refillIntervals)}</option>)}
              </select>
            </Field>
          </div>
        </section>

        <section className="form-section" aria-labelledby={`${formId}-meta`}>
          <h3 className="form-section-title" id={`${formId}-meta`}>{t('keys.detail.metadata')}</h3>
          <MetadataInput rows={form.metadata} onChange={(m) => set({ metadata: m })} errors={checked ? metaErrors : []} error={serverField('metadata')} labelledBy={`${formId}-meta`} />
        </section>
        {unplaced ? <InlineError error={unplaced} /> : null}
      </form>
    </Dialog>
  )
}
