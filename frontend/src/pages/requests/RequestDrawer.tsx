import type { RequestEntry } from '../../api/types'
import { Dialog } from '../../components/Dialog'
import { HttpStatus } from '../../components/StatusBadge'
import { useI18n } from '../../i18n/i18n'
import { latency } from './RequestsPage'

const credential = /^(authorization|x-api-key|cookie|proxy-authorization|set-cookie)$/i

/** maskHeaders hides credentials even if a server ever sent one: the UI never shows a secret. */
export function maskHeaders(h: Record<string, string | string[]> | null | undefined): [string, string][] {
  return Object.entries(h ?? {})
    .map(([k, v]): [string, string] => [k, credential.test(k) ? '••••••' : Array.isArray(v) ? v.join(', ') : String(v)])
    .sort(([a], [b]) => a.localeCompare(b))
}

/** RequestDrawer shows one request: identity, timing, error code and headers with credentials masked. */
export function RequestDrawer({ entry: r, onClose }: { entry: RequestEntry; onClose: () => void }) {
  const { t, exact, number } = useI18n()
  const headers = maskHeaders(r.headers)
  return (
    <Dialog variant="drawer" title={<><span className="method">{r.method}</span> <code dir="ltr">{r.path}</code></>} onClose={onClose}>
      <dl className="facts facts-stacked">
        <div><dt>{t('requests.field.status')}</dt><dd><HttpStatus code={r.status} /></dd></div>
        <div><dt>{t('requests.field.time')}</dt><dd>{exact(r.time)}</dd></div>
        <div><dt>{t('requests.field.latency')}</dt><dd>{latency(r.latencyUs, number)}</dd></div>
        <div><dt>{t('requests.field.error')}</dt><dd>{r.errorCode ? <code className="error-code">{r.errorCode}</code> : '—'}</dd></div>
        <div><dt>{t('requests.field.key')}</dt><dd>{r.keyName ? <><bdi>{r.keyName}</bdi> <code className="muted" dir="ltr">{r.keyId}</code></> : r.userId ? <code dir="ltr">{r.userId}</code> : '—'}</dd></div>
        <div><dt>{t('requests.field.route')}</dt><dd><code dir="ltr">{r.route || '—'}</code></dd></div>
        <div><dt>{t('requests.field.client')}</dt><dd><code dir="ltr">{r.clientAddr || '—'}</code></dd></div>
        <div><dt>{t('requests.field.request_id')}</dt><dd><code dir="ltr">{r.requestId}</code></dd></div>
      </dl>
      <h3 className="section-title">{t('requests.headers')}</h3>
      {headers.length ? (
        <table className="table table-compact" dir="ltr">
          <tbody>
            {headers.map(([k, v]) => (
              <tr key={k}><th scope="row"><code>{k}</code></th><td><code className="wrap">{v}</code></td></tr>
            ))}
          </tbody>
        </table>
      ) : <p className="muted">—</p>}
      <p className="field-hint">{t('requests.headers.masked')}</p>
    </Dialog>
  )
}
