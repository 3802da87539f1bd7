import { describe, expect, it, vi } from 'vitest'
import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { renderApp } from '../../test/render'

// Rendering the whole console is slow on a busy machine: these tests get more time.
describe('key dialog, disable/enable and the list controls', { timeout: 20_000 }, () => {
  it('creates a key with scopes offered by the routes, metadata, an allowlist, a rate limit and a quota', async () => {
    const { transport } = renderApp({ keys: 0, orgs: 1 })
    const spy = vi.spyOn(transport, 'call')
    fireEvent.click((await screen.findAllByRole('button', { name: 'Create key' }, { timeout: 5000 }))[0])
    const d = await screen.findByRole('dialog', { name: 'Create an API key' })
    fireEvent.change(within(d).getByLabelText('Name'), { target: { value: 'Partner' } })
    // A scope the routes require is one click; a typed one is checked first.
    fireEvent.click(await within(d).findByRole('button', { name: 'Add scope pets:read' }))
    const input = within(d).getByLabelText('New scope')
    fireEvent.change(input, { target: { value: 'bad scope' } })
    fireEvent.keyDown(input, { key: 'Enter' })
    expect(within(d).getByText(/“bad scope” is not a scope/)).toBeTruthy()
    fireEvent.change(input, { target: { value: 'orders:*' } })
    fireEvent.keyDown(input, { key: 'Enter' })
    expect(within(d).getByRole('button', { name: 'Remove scope orders:*' })).toBeTruthy()
    expect(within(d).queryByRole('button', { name: 'Add scope pets:read' })).toBeNull()
    fireEvent.change(within(d).getByLabelText('IP allowlist'), { target: { value: '203.0.113.0/24\n2001:db8::/32' } })
    fireEvent.change(within(d).getByLabelText('Rate limit'), { target: { value: '100' } })
    fireEvent.change(within(d).getByLabelText('Window'), { target: { value: '3600' } })
    fireEvent.change(within(d).getByLabelText('Quota'), { target: { value: '500' } })
    fireEvent.change(within(d).getByLabelText('Refill to'), { target: { value: '500' } })
    fireEvent.change(within(d).getByLabelText('Refill interval'), { target: { value: '604800' } })
    fireEvent.click(within(d).getByRole('button', { name: 'Add pair' }))
    fireEvent.change(within(d).getByLabelText('Name of pair 1'), { target: { value: 'team' } })
    fireEvent.change(within(d).getByLabelText('Value of pair 1'), { target: { value: 'partners' } })
    fireEvent.click(within(d).getByRole('button', { name: 'Create key' }))
    await screen.findByRole('dialog', { name: 'Key “Partner” created' })
    expect(spy).toHaveBeenCalledWith('CreateKey', expect.objectContaining({
      name: 'Partner', scopes: ['orders:*', 'pets:read'], allowIps: ['203.0.113.0/24', '2001:db8::/32'], metadata: { team: 'partners' },
      rateLimit: 100, rateWindowSeconds: 3600, quota: 500, refillAmount: 500, refillIntervalSeconds: 604800,
    }))
  })

  it('refuses a refill without a quota and a metadata name twice, before sending', async () => {
    const { transport } = renderApp({ keys: 0, orgs: 1 })
    const spy = vi.spyOn(transport, 'call')
    fireEvent.click((await screen.findAllByRole('button', { name: 'Create key' }, { timeout: 5000 }))[0])
    const d = await screen.findByRole('dialog')
    fireEvent.change(within(d).getByLabelText('Name'), { target: { value: 'X' } })
    fireEvent.change(within(d).getByLabelText('Refill to'), { target: { value: '10' } })
    fireEvent.click(within(d).getByRole('button', { name: 'Add pair' }))
    fireEvent.click(within(d).getByRole('button', { name: 'Add pair' }))
    fireEvent.change(within(d).getByLabelText('Name of pair 1'), { target: { value: 'team' } })
    fireEvent.change(within(d).getByLabelText('Name of pair 2'), { target: { value: 'team' } })
    fireEvent.click(within(d).getByRole('button', { name: 'Create key' }))
    expect(await within(d).findByText('Set a quota to refill it.')).toBeTruthy()
    expect(within(d).getByText('This name appears twice.')).toBeTruthy()
    expect(spy).not.toHaveBeenCalledWith('CreateKey', expect.anything())
  })

  it('shows the server’s refusal under the field it names', async () => {
    renderApp({ keys: 0, orgs: 1 })
    fireEvent.click((await screen.findAllByRole('button', { name: 'Create key' }, { timeout: 5000 }))[0])
    const d = await screen.findByRole('dialog')
    fireEvent.change(within(d).getByLabelText('Name'), { target: { value: 'X' } })
    const ips = within(d).getByLabelText('IP allowlist')
    fireEvent.change(ips, { target: { value: 'not-an-ip' } })
    fireEvent.click(within(d).getByRole('button', { name: 'Create key' }))
    expect(await within(d).findByText(/“not-an-ip” is not an IP address/)).toBeTruthy()
    expect(ips.getAttribute('aria-invalid')).toBe('true')
  })

  it('edits a key, sending only what changed, and the detail screen shows it', async () => {
    const { transport } = renderApp()
    const spy = vi.spyOn(transport, 'call')
    const k = transport.state.keys[0]
    fireEvent.click(await screen.findByRole('button', { name: `Edit key “${k.name}”` }, { timeout: 5000 }))
    const d = await screen.findByRole('dialog', { name: `Edit “${k.name}”` })
    expect((within(d).getByLabelText('Requests left') as HTMLInputElement).value).toBe('250')
    fireEvent.click(within(d).getByRole('button', { name: 'Remove scope pets:read' }))
    fireEvent.click(within(d).getByRole('button', { name: 'Add scope pets:write' }))
    fireEvent.change(within(d).getByLabelText('Value of pair 1'), { target: { value: 'billing' } })
    fireEvent.click(within(d).getByRole('button', { name: 'Save changes' }))
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull())
    expect(spy).toHaveBeenCalledWith('UpdateKey', { org: k.orgId, id: k.id, scopes: ['pets:write'], metadata: { team: 'billing' } })
    fireEvent.click(screen.getByRole('link', { name: k.name }))
    await screen.findByRole('heading', { level: 1, name: new RegExp(k.name) })
    expect(within(screen.getByTestId('key-scopes')).getByText('pets:write')).toBeTruthy()
    expect(within(screen.getByTestId('key-metadata')).getByText('billing')).toBeTruthy()
    expect(screen.getByTestId('key-quota').textContent).toBe('250')
    expect(screen.getByTestId('key-refill').textContent).toBe('Back to 1,000 every 1 day')
    expect(screen.getByTestId('key-rate').textContent).toBe('100 per 1 minute')
  })

  it('disables after a confirmation and enables again', async () => {
    const { transport } = renderApp()
    const k = transport.state.keys[1]
    fireEvent.click(await screen.findByRole('button', { name: `Disable key “${k.name}”` }, { timeout: 5000 }))
    const d = await screen.findByRole('dialog', { name: `Disable “${k.name}”?` })
    fireEvent.click(within(d).getByRole('button', { name: 'Disable key' }))
    const row = () => screen.getByRole('link', { name: k.name }).closest('tr')!
    await waitFor(() => expect(within(row()).getByText('Disabled')).toBeTruthy())
    fireEvent.click(within(row()).getByRole('link', { name: k.name }))
    expect(await screen.findByText(/the gateway refuses it until it is enabled again/)).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Enable' }))
    await waitFor(() => expect(screen.queryByText(/until it is enabled again/)).toBeNull())
    expect(screen.getByRole('button', { name: 'Disable' })).toBeTruthy()
    expect(transport.state.keys[1].status).toBe('active')
  })

  it('searches by name', async () => {
    renderApp({ keys: 6 })
    await screen.findByRole('link', { name: 'Production backend' }, { timeout: 5000 })
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search by name' }), { target: { value: 'stag' } })
    await waitFor(() => expect(screen.queryByRole('link', { name: 'Production backend' })).toBeNull())
    expect(screen.getByRole('link', { name: 'Staging' })).toBeTruthy()
    expect(window.location.search).toBe('?q=stag')
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search by name' }), { target: { value: 'nothing like it' } })
    expect(await screen.findByText('No keys match “nothing like it”')).toBeTruthy()
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search by name' }), { target: { value: '' } })
    await screen.findByRole('link', { name: 'Production backend' })
  })

  it('filters the keys expiring within 7 days', async () => {
    const { transport } = renderApp({ keys: 6 })
    await screen.findByRole('link', { name: 'Production backend' })
    // Only an active key whose expiry is that close.
    transport.state.keys[1].expiresAt = new Date(Date.now() + 3 * 86400_000).toISOString()
    fireEvent.click(screen.getByRole('checkbox', { name: 'Expiring within 7 days' }))
    await waitFor(() => expect(screen.queryByRole('link', { name: 'Production backend' })).toBeNull())
    expect(screen.getByRole('link', { name: 'Staging' })).toBeTruthy()
    expect(screen.getAllByRole('link').filter((a) => a.getAttribute('href')?.startsWith('/keys/'))).toHaveLength(1)
    expect(window.location.search).toBe('?expiring=7')
  })

  it('sorts and pages, keeping the view in the address', async () => {
    const { transport } = renderApp({ keys: 6 })
    await screen.findByRole('link', { name: 'Production backend' })
    fireEvent.change(screen.getByLabelText('Sort'), { target: { value: 'name:asc' } })
    await waitFor(() => {
      const names = screen.getAllByRole('link').filter((a) => a.getAttribute('href')?.startsWith('/keys/')).map((a) => a.textContent)
      expect(names).toEqual([...names].sort((a, b) => a!.localeCompare(b!)))
      expect(names[0]).toBe('CI pipeline')
    })

    // 30 more keys: pages of 25.
    for (let i = 0; i < 30; i++) transport.state.keys.push({ ...transport.state.keys[0], id: `key_bulk${i}`, name: `Bulk ${String(i).padStart(2, '0')}` })
    fireEvent.change(screen.getByLabelText('Per page'), { target: { value: '25' } })
    expect(await screen.findByText('1–25 of 36')).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Next page' }))
    expect(await screen.findByText('26–36 of 36')).toBeTruthy()
    expect((screen.getByRole('button', { name: 'Next page' }) as HTMLButtonElement).disabled).toBe(true)
    fireEvent.click(screen.getByRole('button', { name: 'Previous page' }))
    expect(await screen.findByText('1–25 of 36')).toBeTruthy()
    expect(window.location.search).toBe('?sort=name%3Aasc&size=25')
  })
})
