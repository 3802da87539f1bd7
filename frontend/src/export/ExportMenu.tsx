import { useState } from 'react'
import { Button } from '../components/Button'
import { useToast } from '../components/Toasts'
import { useI18n } from '../i18n/i18n'
import { encode, exportName, mimeOf, saveText, type Column, type ExportFormat } from './export'

interface Props<T> {
  /** what names the file: keygate-<what>-<time>.<format> */
  what: string
  rows: readonly T[]
  columns: readonly Column<T>[]
}

/** ExportMenu saves the rows a screen shows as CSV or NDJSON. */
export function ExportMenu<T>({ what, rows, columns }: Props<T>) {
  const { t } = useI18n()
  const toast = useToast()
  const [pending, setPending] = useState<ExportFormat | null>(null)
  const run = async (format: ExportFormat) => {
    setPending(format)
    try {
      const saved = await saveText(exportName(what, format), mimeOf[format], encode(format, rows, columns))
      if (saved) toast(t('export.saved', { Count: rows.length, Path: saved }))
    } catch (e) {
      toast(e instanceof Error ? e.message : String(e), 'error')
    } finally {
      setPending(null)
    }
  }
  return (
    <div className="export-menu" role="group" aria-label={t('export.label', { Count: rows.length })}>
      <Button size="sm" icon="download" pending={pending === 'csv'} disabled={rows.length === 0} onClick={() => run('csv')} data-testid={`export-${what}-csv`}>
        {t('export.csv')}
      </Button>
      <Button size="sm" icon="download" pending={pending === 'ndjson'} disabled={rows.length === 0} onClick={() => run('ndjson')} data-testid={`export-${what}-ndjson`}>
        {t('export.ndjson')}
      </Button>
    </div>
  )
}
