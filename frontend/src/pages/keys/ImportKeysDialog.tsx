import { useEffect, useState, type FormEvent } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { useApi } from '../../api/context'
import { ApiError } from '../../api/error'
import type { ImportKeysInput, ImportKeysResult } from '../../api/operations'
import { Dialog } from '../../components/Dialog'
import { Field } from '../../components/Field'
import { Button } from '../../components/Button'
import { Progress } from '../../components/Progress'
import { errorDetail } from '../../components/States'
import { Icon } from '../../components/Icon'
import { useToast } from '../../components/Toasts'
import { useI18n } from '../../i18n/i18n'

/** maxMiB is the largest file the server takes (keyfile.MaxBytes). */
const maxMiB = 32

type Format = '' | 'better-auth' | 'keygate'

/**
 * Phase is where an import is: the file is checked first (a dry run on the server, so the
 * preview is the server's own verdict), then imported — the body's bytes as the transport
 * reports them going out, then the server's one transaction, whose length nobody can know
 * beforehand (an indeterminate bar, never a made-up percentage).
 */
type Phase =
  | { kind: 'idle' }
  | { kind: 'checking'; sent?: number; total?: number }
  | { kind: 'checked'; result: ImportKeysResult }
  | { kind: 'refused'; error: unknown }
  | { kind: 'sending'; sent: number; total: number; count: number }
  | { kind: 'importing'; count: number }

/** ImportKeysDialog imports keys from Better Auth's apikey table or a Keygate export. */
export function ImportKeysDialog({ orgId, onClose }: { orgId: string; onClose: () => void }) {
  const { t, number } = useI18n()
  const api = useApi()
  const qc = useQueryClient()
  const toast = useToast()
  const [file, setFile] = useState<File | null>(null)
  const [text, setText] = useState<string | null>(null)
  const [format, setFormat] = useState<Format>('')
  const [plainKeys, setPlainKeys] = useState(false)
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' })

  // Read the file and check it as the server will, whenever it or an option changes.
  useEffect(() => {
    if (!file) return
    let stale = false
    const run = async () => {
      if (file.size > maxMiB << 20) {
        setPhase({ kind: 'refused', error: new Error(t('validation.import.too_large', { Size: maxMiB })) })
        return
      }
      setPhase({ kind: 'checking' })
      let body = text
      if (body === null) {
        try {
          body = await file.text()
        } catch {
          if (!stale) setPhase({ kind: 'refused', error: new Error(t('keys.import.read_failed')) })
          return
        }
        if (stale) return
        setText(body)
      }
      const input: ImportKeysInput = { org: orgId, file: body, format: format || undefined, plainKeys, dryRun: true }
      try {
        const result = await api.upload('ImportKeys', input, (sent, total) => { if (!stale) setPhase({ kind: 'checking', sent, total }) })
        if (!stale) setPhase({ kind: 'checked', result })
      } catch (error) {
        if (!stale) setPhase({ kind: 'refused', error })
      }
    }
    void run()
    return () => { stale = true }
    // text is filled by this effect itself; it must not run it again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [file, format, plainKeys, orgId, api, t])

  const busy = phase.kind === 'sending' || phase.kind === 'importing'
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (phase.kind !== 'checked' || text === null) return
    const count = phase.result.count
    const input: ImportKeysInput = { org: orgId, file: text, format: format || undefined, plainKeys, dryRun: false }
    // Only the HTTP transport can tell how far the body has gone; the desktop's call crosses no
    // network, so there the one phase to show is the server's.
    setPhase(api.kind === 'http' ? { kind: 'sending', sent: 0, total: text.length, count } : { kind: 'importing', count })
    try {
      const result = await api.upload('ImportKeys', input, (sent, total) => {
        setPhase(sent < total ? { kind: 'sending', sent, total, count } : { kind: 'importing', count })
      })
      await Promise.all(['ListKeys', 'GetKey', 'ListAudit'].map((n) => qc.invalidateQueries({ queryKey: [n] })))
      toast(t('keys.import.done', { Count: result.count }))
      onClose()
    } catch (error) {
      setPhase({ kind: 'refused', error })
    }
  }

  return (
    <Dialog
      title={t('keys.import.action')}
      description={t('keys.import.intro')}
      onClose={busy ? () => {} : onClose}
      footer={
        <>
          <Button onClick={onClose} disabled={busy} data-autofocus>{t('common.cancel')}</Button>
          <Button variant="primary" type="submit" form="import-keys-form" disabled={phase.kind !== 'checked'} pending={busy}>
            {t('keys.import.submit')}
          </Button>
        </>
      }
    >
      <form id="import-keys-form" className="form" onSubmit={submit}>
        <Field label={t('keys.import.file')} hint={t('keys.import.file_hint', { Size: maxMiB })}>
          <input
            className="input"
            type="file"
            accept=".json,application/json"
            disabled={busy}
            onChange={(e) => { setText(null); setFile(e.target.files?.[0] ?? null) }}
          />
        </Field>
        <Field label={t('keys.import.format')}>
          <select className="input" value={format} disabled={busy} onChange={(e) => setFormat(e.target.value as Format)}>
            <option value="">{t('keys.import.format_auto')}</option>
            <option value="better-auth">{t('keys.import.format_better_auth')}</option>
            <option value="keygate">{t('keys.import.format_keygate')}</option>
          </select>
        </Field>
        <label className="check">
          <input type="checkbox" checked={plainKeys} disabled={busy} onChange={(e) => setPlainKeys(e.target.checked)} />
          <span>{t('keys.import.plain')}</span>
        </label>
        <div aria-live="polite" className="import-status">
          {phase.kind === 'checking' ? (
            <Progress label={t('keys.import.checking')} value={phase.sent} max={phase.total} />
          ) : phase.kind === 'sending' ? (
            <Progress label={t('keys.import.uploading')} value={phase.sent} max={phase.total} detail={file?.name} />
          ) : phase.kind === 'importing' ? (
            <Progress label={t('keys.import.importing')} detail={t('keys.import.importing_detail', { Count: phase.count })} />
          ) : phase.kind === 'checked' ? (
            <div className="callout callout-info" role="status" data-testid="import-preview">
              <Icon name="check" />
              <div>
                <p>{t('keys.import.ready', { Count: phase.result.count })}</p>
                {phase.result.foreign > 0 ? <p className="muted small">{t('keys.import.foreign_note')}</p> : null}
              </div>
            </div>
          ) : phase.kind === 'refused' ? (
            <ImportRefusal error={phase.error} fallback={t('common.error.unknown')} />
          ) : null}
        </div>
        {file && phase.kind !== 'refused' ? <p className="muted small"><bdi>{file.name}</bdi> · {number(Math.max(1, Math.ceil(file.size / 1024)), { style: 'unit', unit: 'kilobyte' })}</p> : null}
      </form>
    </Dialog>
  )
}

/** ImportRefusal shows why the server refused the file: the row and field, then the rule. */
function ImportRefusal({ error, fallback }: { error: unknown; fallback: string }) {
  const fields = error instanceof ApiError ? error.fields : []
  return (
    <div className="inline-error" role="alert" data-testid="import-error">
      <Icon name="alert" />
      <div>
        <p>{errorDetail(error, fallback)}</p>
        {fields.map((f) => (
          <p key={f.field} className="small"><code dir="ltr">{f.field}</code> {f.detail}</p>
        ))}
      </div>
    </div>
  )
}
