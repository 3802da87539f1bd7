import { afterEach } from 'vitest'
import { cleanup } from '@testing-library/react'

afterEach(() => {
  if (typeof window === 'undefined') return
  cleanup()
  localStorage.clear()
  window.history.replaceState(null, '', '/')
})
