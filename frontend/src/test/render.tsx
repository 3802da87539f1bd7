import { render } from '@testing-library/react'
import { App, newQueryClient } from '../App'
import { createApi } from '../api/client'
import { mockTransport, type MockOptions } from '../api/mock'

/** renderApp renders the whole console at path against the in-memory mock backend. */
export function renderApp(opts: MockOptions = {}, path = '/keys') {
  window.history.replaceState(null, '', path)
  const transport = mockTransport(opts)
  const qc = newQueryClient()
  qc.setDefaultOptions({ queries: { ...qc.getDefaultOptions().queries, retry: false } })
  const utils = render(<App api={createApi(transport)} queryClient={qc} />)
  return { ...utils, transport }
}
