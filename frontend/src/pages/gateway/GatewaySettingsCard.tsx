import { useEffect, useState, type FormEvent } from 'react'
import { useAction, useOp } from '../../api/context'
import { Button } from '../../components/Button'
import { Card } from '../../components/PageHeader'
import { Field } from '../../components/Field'
import { ErrorState, InlineError, Loading } from '../../components/States'
import { useToast } from '../../components/Toasts'
import { useT } from '../../i18n/i18n'
import { validUrl } from './RouteDialog'

/** GatewaySettingsCard edits the CORS allowlist, the upstream timeout and how long logs and usage are kept. */
export function GatewaySettingsCard({ admin }: { admin: boolean }) {
  const t = useT()
  const toast = useToast()
  const q = useOp('GetGatewaySettings', {})
  const save = useAction('UpdateGatewaySettings', ['GetGatewaySettings'])
  const [origins, setOrigins] = useState('')
  const [timeout, setTimeoutS] = useState('30')
  const [days, setDays] = useState('90')
  const [rows, setRows] = useState('100000')
  const [usageDays, setUsageDays] = useState('90')
  const [errs, setErrs] = useState<Record<string, string>>({})
  useEffect(() => {
    if (q.data) {
      setOrigins((q.data.allowedOrigins ?? []).join('\n'))
      setTimeoutS(String(q.data.upstreamTimeoutSeconds))
      if (q.data.logRetentionDays) setDays(String(q.data.logRetentionDays))
      if (q.data.logRetentionRows) setRows(String(q.data.logRetentionRows))
      if (q.data.usageRetentionDays) setUsageDays(String(q.data.usageRetentionDays))
    }
  }, [q.data])

  const submit = (e: FormEvent) => {
    e.preventDefault()
    const list = origins.split(/\s+/).map((s) => s.trim()).filter(Boolean)
    const bad = list.find((o) => !validUrl(o) || new URL(o).pathname !== '/' || o.endsWith('/'))
    const secs = Number(timeout)
    const next: Record<string, string> = {}
    if (bad) next.allowedOrigins = t('gateway.settings.origin.invalid', { Origin: bad })
    if (!Number.isInteger(secs) || secs < 1 || secs > 600) next.upstreamTimeoutSeconds = t('gateway.settings.timeout.invalid')
    const d = Number(days)
    const r = Number(rows)
    if (!Number.isInteger(d) || d < 1 || d > 3650) next.logRetentionDays = t('validation.retention.days', { Count: 1, Max: 3650 })
    if (!Number.isInteger(r) || r < 1000 || r > 10000000) next.logRetentionRows = t('validation.retention.rows', { Count: 1000, Max: 10000000 })
    const u = Number(usageDays)
    if (!Number.isInteger(u) || u < 1 || u > 3650) next.usageRetentionDays = t('validation.usage.retention', { Count: 1, Max: 3650 })
    setErrs(next)
    if (Object.keys(next).length) return
    save.mutate({ allowedOrigins: list, upstreamTimeoutSeconds: secs, logRetentionDays: d, logRetentionRows: r, usageRetentionDays: u }, { onSuccess: () => toast(t('common.saved')) })
  }
  const fe = (f: string) => errs[f] || save.error?.fieldError?.(f)
  return (
    <Card title={t('gateway.settings.title')} description={t('gateway.settings.description')}>
      {q.isPending ? <Loading rows={2} /> : q.isError ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : (
        <form className="form" onSubmit={submit} noValidate>
          <Field label={t('gateway.settings.origins')} hint={t('gateway.settings.origins.hint')} error={fe('allowedOrigins')}>
            <textarea className="input mono" dir="ltr" rows={3} value={origins} onChange={(e) => setOrigins(e.target.value)} readOnly={!admin} placeholder="https://app.example.com" />
          </Field>
          <Field label={t('gateway.settings.timeout')} error={fe('upstreamTimeoutSeconds')}>
            <input className="input input-narrow" type="number" min={1} max={600} value={timeout} onChange={(e) => setTimeoutS(e.target.value)} readOnly={!admin} />
          </Field>
          <Field label={t('gateway.settings.retention_days')} hint={t('gateway.settings.retention.hint')} error={fe('logRetentionDays')}>
            <input className="input input-narrow" type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} readOnly={!admin} />
          </Field>
          <Field label={t('gateway.settings.retention_rows')} error={fe('logRetentionRows')}>
            <input className="input input-narrow" type="number" min={1000} max={10000000} value={rows} onChange={(e) => setRows(e.target.value)} readOnly={!admin} />
          </Field>
          <Field label={t('gateway.settings.usage_retention')} hint={t('gateway.settings.usage_retention.hint')} error={fe('usageRetentionDays')}>
            <input className="input input-narrow" type="number" min={1} max={3650} value={usageDays} onChange={(e) => setUsageDays(e.target.value)} readOnly={!admin} />
          </Field>
          {!fe('allowedOrigins') && !fe('upstreamTimeoutSeconds') && !fe('logRetentionDays') && !fe('logRetentionRows') && !fe('usageRetentionDays') ? <InlineError error={save.error} /> : null}
          {admin ? <div><Button type="submit" variant="primary" pending={save.isPending}>{t('common.save')}</Button></div> : null}
        </form>
      )}
    </Card>
  )
}
