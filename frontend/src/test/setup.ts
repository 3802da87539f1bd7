import { afterEach } from 'vitest'
import { cleanup, configure } from '@testing-library/react'

// A screen renders the whole console against the mock; on a machine busy with other builds the
// first render can take a few seconds. findBy… and waitFor wait up to 5 s instead of 1 s (a
// passing test does not wait longer; only a failing one does).
configure({ asyncUtilTimeout: 5000 })

afterEach(() => {
  if (typeof window === 'undefined') return
  cleanup()
  localStorage.clear()
  window.history.replaceState(null, '', '/')
})
