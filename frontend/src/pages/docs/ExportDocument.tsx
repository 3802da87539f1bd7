import { useState } from 'react'
import { Button } from '../../components/Button'
import { useToast } from '../../components/Toasts'
import { useI18n } from '../../i18n/i18n'

type Api = 'gateway' | 'console'
type Format = 'json' | 'yaml'
type SaveOpenAPI = (api: Api, format: Format) => Promise<string>

/**
 * ExportDocument saves a generated OpenAPI document: through the native "save as" dialog in
 * the desktop window (the bound SaveOpenAPI), as a download from /openapi/… in the browser.
 */
export function ExportDocument({ win = window }: { win?: Window }) {
  const { t } = useI18n()
  const toast = useToast()
  const [choice, setChoice] = useState<`${Api}.${Format}`>('gateway.json')
  const [pending, setPending] = useState(false)
  const [api, format] = choice.split('.') as [Api, Format]
  const save = (win.go?.main?.App as Record<string, unknown> | undefined)?.SaveOpenAPI as SaveOpenAPI | undefined
  const docName = (a: Api) => t(a === 'gateway' ? 'docs.gateway_document' : 'docs.console_document')

  const onSave = async () => {
    if (!save) return
    setPending(true)
    try {
      const path = await save(api, format)
      if (path) toast(t('docs.export.saved', { Path: path }))
    } catch (e) {
      toast(e instanceof Error ? e.message : String(e), 'error')
    } finally {
      setPending(false)
    }
  }

  return (
    <div className="docs-export">
      <label className="filter">
        <span>{t('docs.export.label')}</span>
        <select className="input input-sm" value={choice} onChange={(e) => setChoice(e.target.value as typeof choice)} data-testid="docs-export-choice">
          {(['gateway', 'console'] as Api[]).flatMap((a) =>
            (['json', 'yaml'] as Format[]).map((f) => (
              <option key={`${a}.${f}`} value={`${a}.${f}`}>{t('docs.export.option', { Document: docName(a), Format: f.toUpperCase() })}</option>
            )),
          )}
        </select>
      </label>
      {save ? (
        <Button size="sm" icon="download" pending={pending} onClick={onSave}>{t('docs.export.save')}</Button>
      ) : (
        <a className="btn btn-secondary btn-sm" href={`/openapi/${api}.${format}`} download={`keygate-${api}.${format}`}>{t('docs.export.save')}</a>
      )}
    </div>
  )
}
