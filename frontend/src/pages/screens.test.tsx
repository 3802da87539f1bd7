import { describe, expect, it, vi } from 'vitest'
import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { renderApp } from '../test/render'
import { maskHeaders } from './requests/RequestDrawer'
import { validUrl } from './gateway/RouteDialog'
import { validPort } from './gateway/PortsCard'

describe('language and direction', () => {
  it('switches language at once, without a reload, and lays Arabic out right to left', async () => {
    renderApp({}, '/preferences')
    await screen.findByRole('heading', { name: 'Preferences', level: 1 })
    expect(document.documentElement.lang).toBe('en')
    fireEvent.change(screen.getByTestId('language-select'), { target: { value: 'de' } })
    await waitFor(() => expect(document.documentElement.lang).toBe('de'))
    expect(document.documentElement.dir).toBe('ltr')
    expect(screen.queryByRole('heading', { name: 'Preferences', level: 1 })).toBeNull()
    fireEvent.change(screen.getByTestId('language-select'), { target: { value: 'ar' } })
    await waitFor(() => expect(document.documentElement.dir).toBe('rtl'))
    expect(document.documentElement.lang).toBe('ar')
  })

  it('isolates names and values in Hebrew: <bdi> in cells, U+2068 … U+2069 in labels and options', async () => {
    renderApp({}, '/preferences')
    fireEvent.change(await screen.findByTestId('language-select'), { target: { value: 'he' } })
    await waitFor(() => expect(document.documentElement.dir).toBe('rtl'))
    fireEvent.click(document.querySelector('nav a[href="/keys"]')!)
    const cell = await screen.findByText('Production backend')
    expect(cell.tagName).toBe('BDI')
    const row = cell.closest('tr')!
    const revoke = row.querySelector('button.icon-btn-danger')!
    expect(revoke.getAttribute('aria-label')).toContain('\u2068Production backend\u2069')
    expect(revoke.getAttribute('aria-label')).toMatch(/^שלילת/) // revoke, not ביטול (Cancel)
    fireEvent.click(revoke)
    const dialog = await screen.findByRole('dialog')
    expect(within(dialog).getByText('Production backend').tagName).toBe('BDI')
    expect(within(dialog).getByRole('button', { name: 'ביטול' })).toBeTruthy()
    expect(within(dialog).queryAllByRole('button').filter((b) => b.textContent === 'שלילת המפתח')).toHaveLength(1)
  })

  it('lists every language in its own name', async () => {
    renderApp({}, '/preferences')
    const select = await screen.findByTestId('language-select')
    const names = within(select).getAllByRole('option').map((o) => o.textContent)
    expect(names).toEqual(expect.arrayContaining(['Deutsch', '日本語', 'العربية', 'עברית', '简体中文', '한국어', 'Português (Brasil)']))
  })
})

describe('sign-in and access', () => {
  it('shows the login page when signed out and the server’s detail on a failed sign-in', async () => {
    renderApp({ signedIn: false })
    const email = await screen.findByLabelText('Email')
    fireEvent.change(email, { target: { value: 'ada@example.com' } })
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'nope' } })
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }))
    expect(await screen.findByText('Wrong email or password.')).toBeTruthy()
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'correct horse' } })
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }))
    expect(await screen.findByRole('heading', { name: 'API keys', level: 1 })).toBeTruthy()
  })

  it('offers first-admin setup when the server needs it', async () => {
    renderApp({ signedIn: false, setupNeeded: true }, '/setup#token=abc')
    expect(await screen.findByRole('heading', { name: 'Create the first admin' })).toBeTruthy()
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'ada@example.com' } })
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'long enough pw' } })
    fireEvent.change(screen.getByLabelText('Confirm password'), { target: { value: 'different pw!!' } })
    fireEvent.click(screen.getByRole('button', { name: 'Create admin and sign in' }))
    expect(await screen.findByText('The passwords do not match.')).toBeTruthy()
    fireEvent.change(screen.getByLabelText('Confirm password'), { target: { value: 'long enough pw' } })
    fireEvent.click(screen.getByRole('button', { name: 'Create admin and sign in' }))
    expect(await screen.findByRole('heading', { name: 'API keys', level: 1 })).toBeTruthy()
  })

  it('says "access denied" to a user with no organization, never loads forever', async () => {
    renderApp({ orgs: 0 })
    expect(await screen.findByRole('heading', { name: 'Access denied' })).toBeTruthy()
  })
})

describe('gateway', () => {
  it('refuses a bad upstream URL and shows the server’s duplicate-prefix message', async () => {
    renderApp({}, '/gateway')
    fireEvent.click(await screen.findByRole('button', { name: 'Add route' }))
    const d = await screen.findByRole('dialog', { name: 'Add a route' })
    fireEvent.change(within(d).getByLabelText('Path prefix'), { target: { value: '/demo' } })
    fireEvent.change(within(d).getByLabelText('Upstream URL'), { target: { value: 'localhost:3000' } })
    fireEvent.click(within(d).getByRole('button', { name: 'Save' }))
    expect(await within(d).findByText('Enter a full http:// or https:// URL.')).toBeTruthy()
    fireEvent.change(within(d).getByLabelText('Upstream URL'), { target: { value: 'http://127.0.0.1:3000' } })
    fireEvent.click(within(d).getByRole('button', { name: 'Save' }))
    expect(await within(d).findByText('A route with this prefix already exists.')).toBeTruthy()
  })

  it('shows the cluster’s nodes with version, address and request rate', async () => {
    renderApp({}, '/gateway')
    const table = await screen.findByTestId('nodes-table')
    const headers = within(table).getAllByRole('columnheader').map((h) => h.textContent)
    expect(headers).toEqual(['Name', 'Version', 'Address', 'Started', 'Last seen', 'Requests/s', 'State'])
    const rows = within(table).getAllByRole('row').slice(1)
    expect(rows).toHaveLength(1)
    const cells = within(rows[0]).getAllByRole('cell').map((c) => c.textContent)
    expect(cells[0]).toBe('gw-1')
    expect(cells[1]).toBe('v1.4.0')
    expect(cells[2]).toBe('http://127.0.0.1:8787')
    expect(cells[5]).toBe('37')
    expect(cells[6]).toBe('Live')
  })

  it('lists each route’s scopes and whether it sends a signed identity', async () => {
    renderApp({}, '/gateway')
    const scopes = await screen.findByTestId('route-scopes-/demo')
    expect(within(scopes).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['pets:read', 'pets:write'])
    expect(screen.queryByText('Signed identity')).toBeNull()
    fireEvent.click(screen.getByRole('button', { name: 'Add route' }))
    const d = await screen.findByRole('dialog', { name: 'Add a route' })
    fireEvent.change(within(d).getByLabelText('Path prefix'), { target: { value: '/orders' } })
    fireEvent.change(within(d).getByLabelText('Upstream URL'), { target: { value: 'http://127.0.0.1:3000' } })
    fireEvent.change(within(d).getByLabelText('Scopes every request needs'), { target: { value: 'orders:read, orders:write' } })
    fireEvent.click(within(d).getByLabelText(/Send the upstream a signed identity/))
    fireEvent.click(within(d).getByRole('button', { name: 'Save' }))
    const added = await screen.findByTestId('route-scopes-/orders')
    expect(within(added).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['orders:read', 'orders:write'])
    const row = added.closest('tr') as HTMLElement
    expect(within(row).getByText('Signed identity')).toBeTruthy()
  })

  it('edits the ports: a bad one is refused on its field (no digit grouping in a port) and nothing is sent; a good one moves the gateway', async () => {
    const { transport } = renderApp({}, '/gateway')
    const gw = await screen.findByLabelText('Gateway port')
    const con = screen.getByLabelText('Console port')
    expect((gw as HTMLInputElement).value).toBe('8787')
    expect((con as HTMLInputElement).value).toBe('8788')
    const card = gw.closest('form')!
    fireEvent.change(gw, { target: { value: '70000' } })
    fireEvent.click(within(card).getByRole('button', { name: 'Save' }))
    expect(await within(card).findByText('Enter a port from 1 to 65535.')).toBeTruthy()
    expect(gw.getAttribute('aria-invalid')).toBe('true')
    expect(transport.state.ports.gateway).toBe(8787)
    fireEvent.change(gw, { target: { value: '8788' } })
    fireEvent.click(within(card).getByRole('button', { name: 'Save' }))
    expect(await within(card).findByText('The gateway and the console cannot both listen on port 8788.')).toBeTruthy()
    fireEvent.change(gw, { target: { value: '9100' } })
    fireEvent.click(within(card).getByRole('button', { name: 'Save' }))
    expect(await screen.findByText('The gateway now listens on 127.0.0.1:9100.')).toBeTruthy()
    expect(transport.state.ports.gateway).toBe(9100)
  })

  it('has no console port on the desktop, and says why', async () => {
    renderApp({ desktop: true }, '/gateway')
    await screen.findByLabelText('Gateway port')
    expect(screen.queryByLabelText('Console port')).toBeNull()
    expect(screen.getByText(/The desktop app has no console port/)).toBeTruthy()
  })

  it('validates ports like the server', () => {
    for (const ok of ['1', '8787', '65535']) expect(validPort(ok)).toBe(true)
    for (const bad of ['0', '65536', '-1', '80.5', '', 'http', '1e3']) expect(validPort(bad)).toBe(false)
  })

  it('validates URLs like the gateway', () => {
    expect(validUrl('http://127.0.0.1:3000')).toBe(true)
    expect(validUrl('https://api.example.com/v1')).toBe(true)
    expect(validUrl('ftp://x')).toBe(false)
    expect(validUrl('localhost:3000')).toBe(false)
  })
})

describe('requests', () => {
  it('opens a request in a drawer with credentials masked', async () => {
    renderApp({}, '/requests')
    const rows = await screen.findAllByRole('row', { name: /Show details of/ })
    fireEvent.keyDown(rows[0], { key: 'Enter' })
    const d = await screen.findByRole('dialog')
    expect(within(d).getByText('Request headers')).toBeTruthy()
    expect(within(d).getByText('••••••')).toBeTruthy()
  })

  it('masks credential headers even if a server sent them', () => {
    expect(maskHeaders({ Authorization: ['Bearer kg_secret'], 'X-Api-Key': 'kg_secret', Cookie: ['a=b'], Accept: ['*/*'] })).toEqual([
      ['Accept', '*/*'], ['Authorization', '••••••'], ['Cookie', '••••••'], ['X-Api-Key', '••••••'],
    ])
  })
})

describe('other screens', () => {
  it('pages the audit log: "Load more" reaches the oldest entries, and a filter starts over', async () => {
    const { transport } = renderApp({ auditEntries: 450 }, '/audit')
    await screen.findByRole('heading', { name: 'Audit log', level: 1 })
    const rows = () => document.querySelectorAll('tbody tr').length
    await waitFor(() => expect(rows()).toBe(200))
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }))
    await waitFor(() => expect(rows()).toBe(400))
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }))
    await waitFor(() => expect(rows()).toBe(transport.state.audit.length))
    expect(screen.getByText('change 450')).toBeTruthy() // the oldest
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull()
    const ids = [...document.querySelectorAll('tbody tr td:nth-child(4) code')].map((c) => c.textContent)
    expect(new Set(ids).size).toBe(ids.length) // each entry once
    fireEvent.change(screen.getByTestId('audit-action'), { target: { value: 'login' } })
    await waitFor(() => expect(rows()).toBe(1))
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull()
  }, 30_000)

  it('renders organization, members, audit and docs without errors', async () => {
    for (const [path, title] of [['/org', 'Organization'], ['/members', 'Members'], ['/audit', 'Audit log'], ['/docs', 'API docs']] as const) {
      const { unmount } = renderApp({}, path)
      expect(await screen.findByRole('heading', { name: title, level: 1 })).toBeTruthy()
      unmount()
    }
  })
})

describe('backup', () => {
  it('downloads a backup with a progress bar, then says what was saved', async () => {
    renderApp({ latency: 5 }, '/gateway')
    const button = await screen.findByRole('button', { name: 'Download a backup' })
    expect(screen.getByText('keygate restore FILE')).toBeTruthy()
    const created = vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:backup')
    fireEvent.click(button)
    await screen.findByRole('progressbar')
    const done = await screen.findByTestId('backup-done')
    expect(done.textContent).toContain('Downloaded keygate-backup-20260115-120000.db (4 kB)')
    expect(created).toHaveBeenCalledOnce()
    created.mockRestore()
  })

  it('shows where the desktop app saved it', async () => {
    renderApp({ desktop: true }, '/gateway')
    fireEvent.click(await screen.findByRole('button', { name: 'Download a backup' }))
    expect((await screen.findByTestId('backup-done')).textContent).toContain('Saved to /home/ada/keygate-backup-20260115-120000.db')
  })

  it('shows the server’s reason when the backup is refused', async () => {
    renderApp({ fail: { DownloadBackup: { code: 'CONFLICT', status: 409, detail: 'This instance keeps its data in PostgreSQL: back it up with pg_dump.' } } }, '/gateway')
    fireEvent.click(await screen.findByRole('button', { name: 'Download a backup' }))
    expect((await screen.findByTestId('backup-error')).textContent).toContain('back it up with pg_dump')
  })

  it('is not offered to members', async () => {
    renderApp({ role: 'member' }, '/gateway')
    await screen.findByRole('heading', { name: 'Gateway', level: 1 })
    expect(screen.queryByRole('button', { name: 'Download a backup' })).toBeNull()
  })
})
