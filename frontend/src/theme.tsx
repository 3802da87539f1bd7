import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react'
import type { Theme } from './api/types'

interface ThemeValue {
  theme: Theme
  /** resolved is what is on screen: the system preference decides "system". */
  resolved: 'light' | 'dark'
  setTheme: (t: Theme) => void
}

const Ctx = createContext<ThemeValue>({ theme: 'system', resolved: 'light', setTheme: () => {} })
const storageKey = 'keygate.theme'

function systemDark() {
  return typeof window !== 'undefined' && !!window.matchMedia?.('(prefers-color-scheme: dark)').matches
}

/** ThemeProvider sets data-theme on <html>; the last choice is remembered locally to avoid a flash. */
export function ThemeProvider({ children }: { children: ReactNode }) {
  const [theme, set] = useState<Theme>(() => (localStorage.getItem(storageKey) as Theme) || 'system')
  const [dark, setDark] = useState(systemDark)
  useEffect(() => {
    const mq = window.matchMedia?.('(prefers-color-scheme: dark)')
    if (!mq) return
    const on = () => setDark(mq.matches)
    mq.addEventListener('change', on)
    return () => mq.removeEventListener('change', on)
  }, [])
  const resolved = theme === 'system' ? (dark ? 'dark' : 'light') : theme
  useEffect(() => {
    document.documentElement.dataset.theme = resolved
    document.documentElement.style.colorScheme = resolved
  }, [resolved])
  const setTheme = useCallback((t: Theme) => {
    localStorage.setItem(storageKey, t)
    set(t)
  }, [])
  return <Ctx.Provider value={{ theme, resolved, setTheme }}>{children}</Ctx.Provider>
}

export const useTheme = () => useContext(Ctx)
