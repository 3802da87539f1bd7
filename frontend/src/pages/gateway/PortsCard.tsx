import { useEffect, useState, type FormEvent } from 'react'
import { useAction, useOp } from '../../api/context'
import type { PortInfo } from '../../api/types'
import { Button } from '../../components/Button'
import { Card } from '../../components/PageHeader'
import { Field } from '../../components/Field'
import { ErrorState, InlineError, Loading } from '../../components/States'
import { useToast } from '../../components/Toasts'
import { useT } from '../../i18n/i18n'

/** validPort is a whole number from 1 to 65535. */
export function validPort(s: string): boolean {
  const n = Number(s)
  return /^\d+$/.test(s.trim()) && Number.isInteger(n) && n >= 1 && n <= 65535
}

/**
 * PortsCard edits where the gateway and the console listen. Saving moves a running gateway at
 * once; the console's port applies at the next start of `keygate serve`; a port a flag or an
 * environment variable fixes is shown, not edited. The desktop has no console port.
 */
export function PortsCard({ admin }: { admin: boolean }) {
  const t = useT()
  const toast = useToast()
  const q = useOp('GetPorts', {})
  const save = useAction('UpdatePorts', ['GetPorts', 'GetGatewayStatus'])
  // What the fields hold: the stored ports until edited (null), so their first frame with the
  // data already shows them; fresh data drops the edits.
  const [gatewayEdit, setGateway] = useState<string | null>(null)
  const [consoleEdit, setConsolePort] = useState<string | null>(null)
  const [errs, setErrs] = useState<Record<string, string>>({})
  useEffect(() => {
    setGateway(null)
    setConsolePort(null)
  }, [q.data])
  const gateway = gatewayEdit ?? (q.data ? String(q.data.gateway.port) : '')
  const consolePort = consoleEdit ?? (q.data ? String(q.data.console.port) : '')
  const p = q.data
  const hasConsole = !!p?.console.listen
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (!p) return
    const next: Record<string, string> = {}
    const range = t('validation.port.range', { Min: '1', Max: '65535' })
    if (!p.gateway.fixedBy && !validPort(gateway)) next.gatewayPort = range
    if (hasConsole && !p.console.fixedBy && !validPort(consolePort)) next.consolePort = range
    setErrs(next)
    if (Object.keys(next).length) return
    const moving = !p.gateway.fixedBy && Number(gateway) !== p.gateway.port
    save.mutate({
      gatewayPort: p.gateway.fixedBy ? 0 : Number(gateway),
      consolePort: hasConsole && !p.console.fixedBy ? Number(consolePort) : 0,
    }, {
      onSuccess: (out) => toast(moving && out.gateway.listen ? t('ports.moved', { Address: out.gateway.listen }) : t('common.saved')),
    })
  }
  const fe = (f: string) => errs[f] || save.error?.fieldError?.(f)
  const hint = (info: PortInfo, base: string) => (
    <>
      {info.fixedBy ? t('ports.fixed', { By: info.fixedBy }) : base}
      {info.listen ? <> {t('ports.now', { Address: info.listen })}</> : null}
      {info.pending ? <> {t('ports.pending', { Port: String(info.port) })}</> : null}
    </>
  )
  return (
    <Card title={t('ports.title')} description={t('ports.description')}>
      {q.isPending ? <Loading rows={2} /> : q.isError ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : p ? (
        <form className="form" onSubmit={submit} noValidate>
          <Field label={t('ports.gateway')} hint={hint(p.gateway, t('ports.gateway.hint'))} error={fe('gatewayPort')}>
            <input className="input input-narrow" type="number" inputMode="numeric" min={1} max={65535} dir="ltr" value={gateway}
              onChange={(e) => setGateway(e.target.value)} readOnly={!admin || !!p.gateway.fixedBy} />
          </Field>
          {hasConsole ? (
            <Field label={t('ports.console')} hint={hint(p.console, t('ports.console.hint'))} error={fe('consolePort')}>
              <input className="input input-narrow" type="number" inputMode="numeric" min={1} max={65535} dir="ltr" value={consolePort}
                onChange={(e) => setConsolePort(e.target.value)} readOnly={!admin || !!p.console.fixedBy} />
            </Field>
          ) : <p className="field-hint">{t('ports.console.desktop')}</p>}
          {!fe('gatewayPort') && !fe('consolePort') ? <InlineError error={save.error} /> : null}
          {admin ? <div><Button type="submit" variant="primary" pending={save.isPending}>{t('common.save')}</Button></div> : null}
        </form>
      ) : null}
    </Card>
  )
}
