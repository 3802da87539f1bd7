import { useT } from '../i18n/i18n'

const tone: Record<string, string> = {
  active: 'success', running: 'success', expired: 'warning', revoked: 'danger', stopped: 'neutral',
  admin: 'accent', developer: 'info', member: 'neutral',
}

/** StatusBadge shows a key status, gateway state or role as a coloured pill with a dot. */
export function StatusBadge({ status, kind = 'status' }: { status: string; kind?: 'status' | 'role' | 'gateway' }) {
  const t = useT()
  return (
    <span className={`badge badge-${tone[status] ?? 'neutral'}`}>
      {kind !== 'role' ? <span className="badge-dot" aria-hidden="true" /> : null}
      {t(`${kind}.${status}`)}
    </span>
  )
}

/** HttpStatus colours an HTTP status code by class. */
export function HttpStatus({ code }: { code: number }) {
  const cls = code >= 500 ? 'danger' : code >= 400 ? 'warning' : code >= 300 ? 'info' : 'success'
  return <span className={`badge badge-mono badge-${cls}`}>{code}</span>
}
