import { useEffect, useState } from 'react'
import { useApi, useOp } from '../../api/context'
import type { Theme } from '../../api/types'
import { Card, PageHeader } from '../../components/PageHeader'
import { Field } from '../../components/Field'
import { Icon, type IconName } from '../../components/Icon'
import { InlineError } from '../../components/States'
import { useI18n } from '../../i18n/i18n'
import { languages } from '../../i18n/languages'
import { useTheme } from '../../theme'
import { ChangePasswordCard } from './ChangePasswordCard'

const themes: { id: Theme; icon: IconName }[] = [
  { id: 'light', icon: 'sun' },
  { id: 'dark', icon: 'moon' },
  { id: 'system', icon: 'settings' },
]

/** PreferencesPage sets the language (each named in itself) and the theme; both apply at once. */
export function PreferencesPage() {
  const { t, setLanguage } = useI18n()
  const api = useApi()
  const { theme, setTheme } = useTheme()
  const saved = useOp('GetPreferences', {})
  // "" is "System default": the language then follows the OS locale or the browser.
  const [chosen, setChosen] = useState<string>(() => localStorage.getItem('keygate.lang') ?? '')
  const [error, setError] = useState<unknown>(null)
  useEffect(() => {
    if (saved.data) setChosen(saved.data.language ?? '')
  }, [saved.data])

  const save = async (language: string, th: Theme) => {
    setError(null)
    try {
      await api.call('UpdatePreferences', { language, theme: th })
    } catch (e) {
      setError(e)
    }
  }
  const pickLanguage = async (l: string) => {
    setChosen(l)
    if (l) localStorage.setItem('keygate.lang', l)
    else localStorage.removeItem('keygate.lang')
    try {
      if (l) {
        await setLanguage(l)
        await save(l, theme)
      } else {
        // "System default": the desktop asks the server (OS locale); a browser goes by its own
        // languages (setLanguage("") falls back to navigator.language).
        await save('', theme)
        const me = api.kind === 'desktop' ? await api.call('GetMe', {}) : null
        await setLanguage(me?.language || '')
      }
    } catch (e) {
      setError(e)
    }
  }
  const pickTheme = async (th: Theme) => {
    setTheme(th)
    await save(chosen, th)
  }

  return (
    <>
      <PageHeader title={t('prefs.title')} description={t('prefs.description')} />
      <Card title={t('prefs.language')} description={t('prefs.language.description')}>
        <Field label={t('prefs.language')}>
          <select className="input input-medium" value={chosen} onChange={(e) => pickLanguage(e.target.value)} data-testid="language-select">
            <option value="">{t('prefs.language.system')}</option>
            {languages.map((l) => <option key={l.tag} value={l.tag} lang={l.tag} dir={l.dir}>{l.name}</option>)}
          </select>
        </Field>
      </Card>
      <Card title={t('prefs.theme')} description={t('prefs.theme.description')}>
        <div className="theme-choices" role="radiogroup" aria-label={t('prefs.theme')}>
          {themes.map((x) => (
            <label key={x.id} className={`theme-choice${theme === x.id ? ' is-selected' : ''}`}>
              <input type="radio" name="theme" value={x.id} checked={theme === x.id} onChange={() => pickTheme(x.id)} />
              <span className={`theme-preview theme-preview-${x.id}`} aria-hidden="true"><Icon name={x.icon} size={18} /></span>
              <span>{t(`prefs.theme.${x.id}`)}</span>
            </label>
          ))}
        </div>
      </Card>
      <InlineError error={error} />
      {api.kind !== 'desktop' ? <ChangePasswordCard /> : null}
    </>
  )
}
