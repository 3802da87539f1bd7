import { describe, expect, it } from 'vitest'
import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { renderApp } from '../../test/render'

// Rendering the whole console is slow on a busy machine: these tests get more time.
describe('key detail screen', { timeout: 20_000 }, () => {
  it('opens from the list and shows everything about the key', async () => {
    const { transport } = renderApp()
    fireEvent.click(await screen.findByRole('link', { name: 'Production backend' }, { timeout: 5000 }))
    expect(await screen.findByRole('heading', { level: 1, name: /Production backend/ })).toBeTruthy()
    const k = transport.state.keys[0]
    expect(window.location.pathname).toBe(`/keys/${k.id}`)
    expect(screen.getByText(k.id)).toBeTruthy()
    expect(screen.getByTestId('usage-count').textContent).toBe('1,000')
    expect(screen.getByText('ada@example.com')).toBeTruthy()
    expect(screen.getByTestId('key-rate').textContent).toBe('100 per 1 minute')
    expect(within(screen.getByTestId('key-scopes')).getByText('pets:read')).toBeTruthy()
    // The keys entry of the navigation stays current on a key's screen.
    expect(screen.getByRole('navigation').querySelector('a[href="/keys"]')!.getAttribute('aria-current')).toBe('page')
    for (const name of ['Edit', 'Roll', 'Revoke']) expect(screen.getByRole('button', { name })).toBeTruthy()
    fireEvent.click(screen.getByRole('link', { name: 'All API keys' }))
    expect(await screen.findByRole('heading', { level: 1, name: 'API keys' })).toBeTruthy()
  })

  it('offers no Roll on an expired key, in the list or on its screen', async () => {
    const { transport } = renderApp({ keys: 6 })
    const expired = transport.state.keys.find((k) => k.status === 'expired')!
    const row = (await screen.findByRole('link', { name: expired.name }, { timeout: 5000 })).closest('tr')!
    expect(within(row).queryByRole('button', { name: `Roll key “${expired.name}”` })).toBeNull()
    expect(within(row).getByRole('button', { name: `Revoke key “${expired.name}”` })).toBeTruthy()
    fireEvent.click(within(row).getByRole('link', { name: expired.name }))
    await screen.findByRole('heading', { level: 1, name: new RegExp(expired.name) })
    expect(screen.getByText(/An expired key cannot be rolled/)).toBeTruthy()
    expect(screen.queryByRole('button', { name: 'Roll' })).toBeNull()
    expect(screen.getByRole('button', { name: 'Edit' })).toBeTruthy()
  })

  it('shows a revoked key’s reason and no actions', async () => {
    const { transport } = renderApp()
    const k = transport.state.keys.find((x) => x.status === 'revoked')!
    k.revokeReason = 'leaked in a CI log'
    fireEvent.click(await screen.findByRole('link', { name: k.name }, { timeout: 5000 }))
    expect(await screen.findByText(/Reason: leaked in a CI log/)).toBeTruthy()
    expect(screen.getAllByText('leaked in a CI log').length).toBeGreaterThan(0)
    expect(screen.queryByRole('button', { name: 'Edit' })).toBeNull()
    expect(screen.queryByRole('button', { name: 'Revoke' })).toBeNull()
  })

  it('revokes from the detail screen and shows the new state', async () => {
    const { transport } = renderApp()
    const k = transport.state.keys[1]
    fireEvent.click(await screen.findByRole('link', { name: k.name }, { timeout: 5000 }))
    fireEvent.click(await screen.findByRole('button', { name: 'Revoke' }))
    const dialog = await screen.findByRole('dialog', { name: `Revoke “${k.name}”?` })
    fireEvent.change(within(dialog).getByLabelText('Reason'), { target: { value: 'rotated out' } })
    fireEvent.click(within(dialog).getByRole('button', { name: 'Revoke key' }))
    expect(await screen.findByText(/This key is revoked/)).toBeTruthy()
    expect(screen.queryByRole('button', { name: 'Edit' })).toBeNull()
  })

  it('says a key of another organization is not found', async () => {
    const { transport } = renderApp({ orgs: 2 })
    await screen.findByText('Production backend')
    const other = transport.state.keys.find((k) => k.name === 'Globex only key')!
    window.history.pushState(null, '', `/keys/${other.id}`)
    window.dispatchEvent(new PopStateEvent('popstate'))
    expect(await screen.findByText('Key not found')).toBeTruthy()
    expect(screen.queryByText('Globex only key')).toBeNull()
    fireEvent.change(screen.getByTestId('org-switcher'), { target: { value: 'org_2mockb' } })
    await waitFor(() => expect(screen.getByRole('heading', { level: 1, name: /Globex only key/ })).toBeTruthy())
  })
})
