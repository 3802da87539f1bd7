import { describe, expect, it, vi } from 'vitest'
import { act, fireEvent, screen, waitFor, within } from '@testing-library/react'
import { renderApp } from '../../test/render'
import { snippets } from './ShowKeyOnceDialog'

describe('API keys screen', () => {
  it('lists the organization keys with status badges and start…', async () => {
    renderApp()
    expect(await screen.findByRole('heading', { name: 'API keys', level: 1 })).toBeTruthy()
    const row = (await screen.findByText('Production backend')).closest('tr')!
    expect(within(row).getByText('Active')).toBeTruthy()
    expect(within(row).getByText(/^kg_.{4}…$/)).toBeTruthy()
    expect(within(row).getByText('2 minutes ago').getAttribute('title')).toMatch(/\d{4}/)
    expect(screen.getByText('Revoked', { selector: '.badge' })).toBeTruthy()
  })

  it('filters by status', async () => {
    renderApp()
    await screen.findByText('Production backend')
    fireEvent.click(screen.getByRole('radio', { name: 'Revoked' }))
    await waitFor(() => expect(screen.queryByText('Production backend')).toBeNull())
    expect(await screen.findByText('Partner: Initech')).toBeTruthy()
    expect(screen.queryByText('Production backend')).toBeNull()
  })

  it('moves the status filter with the arrow keys', async () => {
    renderApp()
    await screen.findByText('Production backend')
    const all = screen.getByRole('radio', { name: 'All' })
    expect(all.getAttribute('tabindex')).toBe('0')
    fireEvent.keyDown(all, { key: 'ArrowRight' })
    await waitFor(() => expect(screen.getByRole('radio', { name: 'Active' }).getAttribute('aria-checked')).toBe('true'))
    fireEvent.keyDown(screen.getByRole('radio', { name: 'Active' }), { key: 'ArrowLeft' })
    await waitFor(() => expect(all.getAttribute('aria-checked')).toBe('true'))
  })

  it('explains what keys are for when there are none', async () => {
    renderApp({ keys: 0, orgs: 1 })
    expect(await screen.findByText('No API keys yet')).toBeTruthy()
    expect(screen.getByText(/identifies a program that calls your API/)).toBeTruthy()
  })

  it('refuses a whitespace-only name, then shows the new key once with snippets', async () => {
    renderApp({ keys: 0, orgs: 1 })
    const create = await screen.findAllByRole('button', { name: 'Create key' })
    fireEvent.click(create[0])
    const dialog = await screen.findByRole('dialog', { name: 'Create an API key' })
    const name = within(dialog).getByLabelText('Name')
    expect(document.activeElement).toBe(name)
    fireEvent.change(name, { target: { value: '   ' } })
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create key' }))
    expect(await within(dialog).findByText('Enter a name for the key.')).toBeTruthy()
    expect(name.getAttribute('aria-invalid')).toBe('true')

    fireEvent.change(name, { target: { value: '  Billing  ' } })
    fireEvent.change(within(dialog).getByLabelText('Expires'), { target: { value: '30d' } })
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create key' }))
    const shown = await screen.findByRole('dialog', { name: 'Key “Billing” created' })
    const secret = within(shown).getByTestId('secret').textContent!
    expect(secret).toMatch(/^kg_[A-Za-z0-9]{38}$/)
    expect(within(shown).getByText(/will not be shown again/)).toBeTruthy()
    expect(await within(shown).findByText(new RegExp(`curl -H "x-api-key: ${secret}" http://127.0.0.1:8787/demo/`))).toBeTruthy()
    fireEvent.click(within(shown).getByRole('tab', { name: '.env' }))
    expect(within(shown).getByText(new RegExp(`KEYGATE_API_KEY=${secret}`))).toBeTruthy()
    expect(await screen.findByText('Billing', { selector: 'td a > bdi' })).toBeTruthy()
  })

  it('disables submit while the create call is pending', async () => {
    renderApp({ keys: 0, orgs: 1, latency: 200 })
    fireEvent.click((await screen.findAllByRole('button', { name: 'Create key' }, { timeout: 3000 }))[0])
    const dialog = await screen.findByRole('dialog')
    fireEvent.change(within(dialog).getByLabelText('Name'), { target: { value: 'CI' } })
    const submit = within(dialog).getByRole('button', { name: 'Create key' }) as HTMLButtonElement
    fireEvent.click(submit)
    await waitFor(() => expect(submit.disabled).toBe(true))
    await screen.findByRole('dialog', { name: 'Key “CI” created' }, { timeout: 3000 })
  })

  it('copies the key and clears the clipboard after 60 s', async () => {
    let clip = ''
    Object.assign(navigator, { clipboard: { writeText: vi.fn(async (s: string) => { clip = s }), readText: vi.fn(async () => clip) } })
    renderApp({ keys: 0, orgs: 1 })
    fireEvent.click((await screen.findAllByRole('button', { name: 'Create key' }))[0])
    const dialog = await screen.findByRole('dialog')
    fireEvent.change(within(dialog).getByLabelText('Name'), { target: { value: 'CI' } })
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create key' }))
    const shown = await screen.findByRole('dialog', { name: 'Key “CI” created' })
    const secret = within(shown).getByTestId('secret').textContent!
    vi.useFakeTimers()
    try {
      await act(async () => { fireEvent.click(within(shown).getByRole('button', { name: 'Copy key' })) })
      expect(clip).toBe(secret)
      await act(async () => { await vi.advanceTimersByTimeAsync(59_000) })
      expect(clip).toBe(secret)
      await act(async () => { await vi.advanceTimersByTimeAsync(2_000) })
      expect(clip).toBe('')
    } finally {
      vi.useRealTimers()
    }
  })

  it('asks before closing the show-once dialog when the key was not copied', async () => {
    renderApp({ keys: 0, orgs: 1 })
    fireEvent.click((await screen.findAllByRole('button', { name: 'Create key' }))[0])
    const dialog = await screen.findByRole('dialog')
    fireEvent.change(within(dialog).getByLabelText('Name'), { target: { value: 'CI' } })
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create key' }))
    const shown = await screen.findByRole('dialog', { name: 'Key “CI” created' })
    fireEvent.keyDown(document, { key: 'Escape' })
    expect(within(shown).getByText(/have not copied the key/)).toBeTruthy()
    fireEvent.click(within(shown).getByRole('button', { name: 'Close anyway' }))
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull())
  })

  it('revokes after a confirmation that names the key, and returns focus', async () => {
    renderApp()
    const btn = await screen.findByRole('button', { name: 'Revoke key “Staging”' })
    btn.focus()
    fireEvent.click(btn)
    const dialog = await screen.findByRole('dialog', { name: 'Revoke “Staging”?' })
    expect(within(dialog).getByText(/cannot be undone/)).toBeTruthy()
    fireEvent.keyDown(document, { key: 'Escape' })
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull())
    expect(document.activeElement).toBe(btn)
    fireEvent.click(btn)
    fireEvent.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Revoke key' }))
    await waitFor(() => expect(within(screen.getByText('Staging').closest('tr')!).getByText('Revoked')).toBeTruthy())
  })

  it('keeps Tab inside an open dialog', async () => {
    renderApp()
    fireEvent.click(await screen.findByRole('button', { name: 'Roll key “Staging”' }))
    const dialog = await screen.findByRole('dialog', { name: 'Roll “Staging”?' })
    const buttons = within(dialog).getAllByRole('button')
    const last = buttons[buttons.length - 1]
    last.focus()
    fireEvent.keyDown(document, { key: 'Tab' })
    expect(dialog.contains(document.activeElement)).toBe(true)
    expect(document.activeElement).not.toBe(last)
  })

  it('rolls a key with a grace period and shows the new secret once', async () => {
    const { transport } = renderApp()
    const spy = vi.spyOn(transport, 'call')
    fireEvent.click(await screen.findByRole('button', { name: 'Roll key “Staging”' }))
    const dialog = await screen.findByRole('dialog')
    fireEvent.change(within(dialog).getByLabelText('Old secret keeps working'), { target: { value: '3600' } })
    fireEvent.click(within(dialog).getByRole('button', { name: 'Roll key' }))
    await screen.findByRole('dialog', { name: 'New secret for “Staging”' })
    expect(spy).toHaveBeenCalledWith('RollKey', expect.objectContaining({ graceSeconds: 3600 }))
  })

  it('gives members a read-only view', async () => {
    renderApp({ role: 'member' })
    await screen.findByText('Production backend')
    expect(screen.queryByRole('button', { name: 'Create key' })).toBeNull()
    expect(screen.queryByRole('button', { name: /Revoke key/ })).toBeNull()
    expect(screen.getByText(/read-only access/)).toBeTruthy()
  })

  it('never shows another organization’s cached keys after switching', async () => {
    renderApp({ orgs: 2 })
    await screen.findByText('Production backend')
    fireEvent.change(screen.getByTestId('org-switcher'), { target: { value: 'org_2mockb' } })
    expect(screen.queryByText('Production backend')).toBeNull()
    expect(await screen.findByText('Globex only key')).toBeTruthy()
    expect(screen.queryByText('Production backend')).toBeNull()
  })

  it('shows the localized detail of a failed call, never a blank screen', async () => {
    renderApp({ fail: { ListKeys: { code: 'INTERNAL', detail: 'Die Datenbank ist gesperrt.', status: 500 } } })
    expect(await screen.findByText('Die Datenbank ist gesperrt.')).toBeTruthy()
    expect(screen.getByRole('button', { name: 'Try again' })).toBeTruthy()
  })
})

describe('snippets', () => {
  it('use the gateway URL and the route prefix', () => {
    expect(snippets('kg_abc', 'http://127.0.0.1:8787/', '/demo')).toEqual({
      curl: 'curl -H "x-api-key: kg_abc" http://127.0.0.1:8787/demo/',
      env: 'KEYGATE_API_KEY=kg_abc\nKEYGATE_GATEWAY_URL=http://127.0.0.1:8787/demo',
    })
    expect(snippets('k', 'http://h:1', '/').curl).toBe('curl -H "x-api-key: k" http://h:1/')
  })
})
