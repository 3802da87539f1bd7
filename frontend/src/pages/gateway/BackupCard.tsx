import { useState } from 'react'
import { useApi } from '../../api/context'
import type { Download } from '../../api/client'
import { Button } from '../../components/Button'
import { Card } from '../../components/PageHeader'
import { Progress } from '../../components/Progress'
import { errorDetail } from '../../components/States'
import { Icon } from '../../components/Icon'
import { useI18n } from '../../i18n/i18n'

/** restoreCommand is a command line, the same in every language. */
const restoreCommand = 'keygate restore FILE'

type Phase =
  | { kind: 'idle' }
  | { kind: 'making' }
  | { kind: 'downloading'; received: number; total: number }
  | { kind: 'done'; file: Download }
  | { kind: 'failed'; error: unknown }

/** saveBlob hands a downloaded file to the browser, which saves it as name. */
function saveBlob(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob)
  try {
    const a = document.createElement('a')
    a.href = url
    a.download = name
    a.style.display = 'none'
    document.body.appendChild(a)
    a.click()
    a.remove()
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 10_000)
  }
}

/**
 * BackupCard downloads a consistent copy of the whole database (DownloadBackup). In a browser
 * the server makes the copy, then its bytes arrive with a determinate progress bar and the
 * browser saves the file; on the desktop the app makes it and asks where to save it. Restoring
 * needs the store closed, so it stays a command, which the card names. Admins only.
 */
export function BackupCard() {
  const { t, number } = useI18n()
  const api = useApi()
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' })
  const size = (bytes: number) =>
    bytes < 1024 * 1024
      ? number(Math.max(1, Math.ceil(bytes / 1024)), { style: 'unit', unit: 'kilobyte' })
      : number(bytes / (1024 * 1024), { style: 'unit', unit: 'megabyte', maximumFractionDigits: 1 })
  const busy = phase.kind === 'making' || phase.kind === 'downloading'

  const run = async () => {
    setPhase({ kind: 'making' })
    try {
      const file = await api.download('DownloadBackup', {}, (received, total) => setPhase({ kind: 'downloading', received, total }))
      if (file.blob) saveBlob(file.blob, file.name)
      setPhase({ kind: 'done', file })
    } catch (error) {
      setPhase({ kind: 'failed', error })
    }
  }

  let status = null
  switch (phase.kind) {
    case 'making':
      status = <Progress label={t('backup.making')} />
      break
    case 'downloading':
      status = (
        <Progress
          label={t('backup.downloading')}
          value={phase.received}
          max={phase.total || undefined}
          detail={phase.total ? t('backup.progress_detail', { Done: size(phase.received), Total: size(phase.total) }) : size(phase.received)}
        />
      )
      break
    case 'done': {
      const f = phase.file
      const text = f.blob
        ? t('backup.done', { Name: f.name, Size: size(f.size) })
        : f.path
          ? t('backup.saved', { Path: f.path, Size: size(f.size) })
          : t('backup.cancelled')
      status = (
        <p className="backup-done" role="status" data-testid="backup-done">
          <Icon name="check" /> <span>{text}</span>
        </p>
      )
      break
    }
    case 'failed':
      status = (
        <div className="inline-error" role="alert" data-testid="backup-error">
          <Icon name="alert" />
          <span><strong>{t('backup.failed')}</strong> {errorDetail(phase.error, t('common.error.unknown'))}</span>
        </div>
      )
      break
  }

  return (
    <Card
      title={t('backup.title')}
      description={t('backup.description')}
      actions={
        <Button variant="primary" icon="download" onClick={run} pending={busy} disabled={busy}>
          {t('backup.download')}
        </Button>
      }
    >
      <div className="backup-body" aria-live="polite">
        {status}
        <p className="muted small">
          {t('backup.restore')} <code dir="ltr">{restoreCommand}</code>
        </p>
      </div>
    </Card>
  )
}
