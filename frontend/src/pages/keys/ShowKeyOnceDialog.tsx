import { useState } from 'react'
import type { CreatedKey } from '../../api/types'
import { useOp } from '../../api/context'
import { Dialog } from '../../components/Dialog'
import { Button } from '../../components/Button'
import { CopyButton } from '../../components/CopyButton'
import { Icon } from '../../components/Icon'
import { useT } from '../../i18n/i18n'

interface Props {
  created: CreatedKey
  rolled?: boolean
  onClose: () => void
}

/** snippets are ready-to-paste uses of the key against the gateway. */
export function snippets(key: string, gatewayUrl: string, prefix: string) {
  const base = gatewayUrl.replace(/\/$/, '') + (prefix && prefix !== '/' ? prefix : '')
  return {
    curl: `curl -H "x-api-key: ${key}" ${base}/`,
    env: `KEYGATE_API_KEY=${key}\nKEYGATE_GATEWAY_URL=${base}`,
  }
}

/**
 * ShowKeyOnceDialog shows a new secret the only time it exists outside the caller's hands, with
 * copy buttons (the clipboard is cleared after 60 s) and snippets for the gateway.
 */
export function ShowKeyOnceDialog({ created, rolled, onClose }: Props) {
  const t = useT()
  const status = useOp('GetGatewayStatus', {})
  const routes = useOp('ListRoutes', {})
  const [copied, setCopied] = useState(false)
  const [confirming, setConfirming] = useState(false)
  const [tab, setTab] = useState<'curl' | 'env'>('curl')
  const url = status.data?.url || 'http://127.0.0.1:8787'
  const route = routes.data?.routes?.find((r) => !r.orgId || r.orgId === created.orgId)
  const s = snippets(created.key, url, route?.prefix ?? '')
  const close = () => (copied || confirming ? onClose() : setConfirming(true))

  return (
    <Dialog
      title={rolled ? t('keys.rolled.title', { Name: created.name }) : t('keys.created.title', { Name: created.name })}
      description={t('keys.created.description')}
      onClose={close}
      wide
      footer={
        confirming && !copied ? (
          <>
            <span className="footer-note">{t('keys.created.confirm_close')}</span>
            <Button onClick={() => setConfirming(false)}>{t('common.back')}</Button>
            <Button variant="danger" onClick={onClose}>{t('keys.created.close_anyway')}</Button>
          </>
        ) : (
          <Button variant="primary" onClick={close}>{t('common.done')}</Button>
        )
      }
    >
      <div className="callout callout-warning" role="note">
        <Icon name="alert" />
        <p>{t('keys.created.warning')}</p>
      </div>
      <div className="secret-box">
        <code className="secret" data-testid="secret" aria-label={t('keys.created.secret_label')}>{created.key}</code>
        <CopyButton text={created.key} secret variant="button" label={t('keys.created.copy')} onCopied={() => setCopied(true)} />
      </div>
      <p className="field-hint">{t('keys.created.clipboard_hint')}</p>
      <div className="snippets">
        <div className="tabs" role="tablist" aria-label={t('keys.created.snippets')}>
          {(['curl', 'env'] as const).map((k) => (
            <button
              key={k}
              type="button"
              role="tab"
              id={`tab-${k}`}
              aria-selected={tab === k}
              aria-controls={`panel-${k}`}
              tabIndex={tab === k ? 0 : -1}
              className="tab"
              onClick={() => setTab(k)}
              onKeyDown={(e) => {
                if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
                  const next = tab === 'curl' ? 'env' : 'curl'
                  setTab(next)
                  document.getElementById(`tab-${next}`)?.focus()
                }
              }}
            >
              {t(`keys.created.snippet.${k}`)}
            </button>
          ))}
        </div>
        <div className="code-block" role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
          <pre dir="ltr"><code>{s[tab]}</code></pre>
          <CopyButton text={s[tab]} secret label={t('keys.created.copy_snippet')} onCopied={() => setCopied(true)} />
        </div>
      </div>
    </Dialog>
  )
}
