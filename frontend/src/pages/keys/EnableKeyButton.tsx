import { useAction } from '../../api/context'
import type { Key } from '../../api/types'
import { Button } from '../../components/Button'
import { Icon } from '../../components/Icon'
import { useToast } from '../../components/Toasts'
import { useT } from '../../i18n/i18n'

/** EnableKeyButton switches a disabled key back on at once: nothing to confirm, it only gives
 * back what the key had. In a table row it is an icon button. */
export function EnableKeyButton({ k, icon }: { k: Key; icon?: boolean }) {
  const t = useT()
  const toast = useToast()
  const enable = useAction('EnableKey', ['ListKeys', 'GetKey'])
  const run = () => enable.mutate({ org: k.orgId, id: k.id }, {
    onSuccess: () => toast(t('keys.enable.done', { Name: k.name })),
    onError: (e) => toast(e.detail || t('common.error.unknown'), 'error'),
  })
  if (icon) {
    return (
      <button type="button" className="icon-btn" onClick={run} disabled={enable.isPending} aria-label={t('keys.enable.action', { Name: k.name })} title={t('keys.enable.short')}>
        <Icon name="play" />
      </button>
    )
  }
  return <Button icon="play" onClick={run} pending={enable.isPending}>{t('keys.enable.short')}</Button>
}
