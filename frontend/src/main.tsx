import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { createApi, detectTransport, type Transport } from './api/client'
import './styles.css'

async function transport(): Promise<Transport> {
  // `npm run dev` with ?mock runs the whole console against an in-memory backend.
  if (import.meta.env.DEV && new URLSearchParams(location.search).has('mock')) {
    const { mockTransport } = await import('./api/mock')
    return mockTransport({ setupNeeded: false, latency: 150 })
  }
  return detectTransport(window, { language: () => document.documentElement.lang || undefined })
}

transport().then((t) => {
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App api={createApi(t)} />
    </StrictMode>,
  )
})
