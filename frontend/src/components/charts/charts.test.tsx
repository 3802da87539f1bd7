import { describe, expect, it } from 'vitest'
import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { renderApp } from '../../test/render'
import { bucketMs, errorRate, presetQuery } from './usage'

describe('usage ranges', () => {
  it('ends presets on the minute under way and starts them on whole buckets', () => {
    const now = new Date(2026, 10, 30, 12, 34, 56)
    const hour = presetQuery('hour', now)
    expect(new Date(hour.to).getTime() - new Date(hour.from).getTime()).toBe(3600_000)
    expect(new Date(hour.to).getMinutes()).toBe(35)
    expect(hour.bucket).toBe('1m')
    const day = presetQuery('day', now)
    expect(new Date(day.from).getMinutes()).toBe(0)
    expect(day.bucket).toBe('1h')
    const week = presetQuery('week', now)
    expect(new Date(week.from).getHours() % 3).toBe(0)
    expect((new Date(week.to).getTime() - new Date(week.from).getTime()) / bucketMs(week.bucket!)).toBeLessThanOrEqual(58)
    expect(bucketMs('5m')).toBe(300_000)
    expect(bucketMs('1d')).toBe(86_400_000)
    expect(errorRate({ total: 8, clientErrors: 1, serverErrors: 1 })).toBe(0.25)
    expect(errorRate({ total: 0 })).toBe(0)
  })
})

describe('usage charts', () => {
  it('labels the Requests chart with its text summary and shows every bucket as a table', async () => {
    renderApp({}, '/requests')
    const fig = await screen.findByTestId('traffic-chart')
    const caption = fig.querySelector('figcaption')!
    // The screen's one time range starts on the last 24 hours; the last hour charts by minute.
    expect((screen.getByTestId('time-range') as HTMLSelectElement).value).toBe('24h')
    fireEvent.change(screen.getByTestId('time-range'), { target: { value: '1h' } })
    // The mock's seven requests of the last minutes: 3 ok, 3 client errors (2 refused), 1 server error.
    await waitFor(() => expect(caption.textContent).toContain('Requests: 7. Errors: 4 (57%). Refused by the gateway: 2.'))
    expect(fig.querySelector('[role="img"]')!.getAttribute('aria-labelledby')).toBe(caption.id)
    fireEvent.click(within(fig).getByRole('button', { name: 'Show as table' }))
    const rows = within(fig).getAllByRole('row').slice(1)
    expect(rows.length).toBeGreaterThanOrEqual(60)
    const total = rows.reduce((n, r) => n + Number(r.querySelector('[data-col="total"]')!.textContent), 0)
    expect(total).toBe(7)
    expect(within(fig).getByRole('button', { name: 'Show as chart' }).getAttribute('aria-pressed')).toBe('true')
  }, 30_000)

  it('refuses a custom range that ends before it starts', async () => {
    renderApp({}, '/requests')
    await screen.findByTestId('traffic-chart')
    expect(screen.queryByRole('radio', { name: 'Custom' })).toBeNull() // no second range picker on this screen
    fireEvent.change(screen.getByTestId('time-range'), { target: { value: 'custom' } })
    fireEvent.change(screen.getByTestId('time-range-from'), { target: { value: '2020-01-02T00:00:00' } })
    fireEvent.change(screen.getByTestId('time-range-to'), { target: { value: '2020-01-01T00:00:00' } })
    expect(await screen.findByText('The end must be after the start.')).toBeTruthy()
  }, 30_000)

  it('drives the chart and the log with one time range', async () => {
    const local = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 19)
    const { transport } = renderApp({}, '/requests')
    const caption = () => screen.getByTestId('traffic-chart').querySelector('figcaption')?.textContent ?? ''
    await waitFor(() => expect(caption()).toContain('Requests: 7.'))
    await waitFor(() => expect(document.querySelectorAll('tbody tr.clickable')).toHaveLength(7))
    // Custom starts from the preset's window: the same seven.
    fireEvent.change(screen.getByTestId('time-range'), { target: { value: 'custom' } })
    expect((screen.getByTestId('time-range-from') as HTMLInputElement).value).not.toBe('')
    await waitFor(() => expect(caption()).toContain('Requests: 7.'))
    // From a whole minute two or three minutes back (usage is counted per minute, so the chart
    // and the log agree to the second only on a minute): the mock's newest three or four.
    const from = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000)
    const n = transport.state.requests.filter((r) => new Date(r.time) >= from).length
    expect(n).toBeGreaterThanOrEqual(3)
    expect(n).toBeLessThan(7)
    fireEvent.change(screen.getByTestId('time-range-from'), { target: { value: local(from) } })
    await waitFor(() => expect(caption()).toContain(`Requests: ${n}.`))
    await waitFor(() => expect(document.querySelectorAll('tbody tr.clickable')).toHaveLength(n))
    // A range with nothing in it: an empty chart, and a log that says how to see older requests.
    fireEvent.change(screen.getByTestId('time-range-from'), { target: { value: local(new Date(Date.now() - 3 * 86_400_000)) } })
    fireEvent.change(screen.getByTestId('time-range-to'), { target: { value: local(new Date(Date.now() - 2 * 86_400_000)) } })
    expect(await screen.findByText(/choose a longer one for older requests/)).toBeTruthy()
    await waitFor(() => expect(caption()).toMatch(/: no requests\.$/))
  }, 30_000)

  it('shows the error rate and the busiest keys and routes on the Gateway screen, in Arabic too', async () => {
    renderApp({}, '/gateway')
    const stats = await screen.findByTestId('usage-stats')
    await waitFor(() => expect(stats.querySelector('[data-stat="total"]')!.textContent).toBe('7'))
    expect(stats.querySelector('[data-stat="errorRate"]')!.textContent).toBe('57%')
    const keys = await screen.findByTestId('top-keys')
    expect(keys.querySelector('p.sr-only')!.textContent).toMatch(/^Top API keys: Production backend \(6\), No API key \(1\)\.$/)
    fireEvent.click(document.querySelector('nav a[href="/preferences"]')!)
    fireEvent.change(await screen.findByTestId('language-select'), { target: { value: 'ar' } })
    await waitFor(() => expect(document.documentElement.dir).toBe('rtl'))
    fireEvent.click(document.querySelector('nav a[href="/gateway"]')!)
    const fig = await screen.findByTestId('error-rate-chart')
    await waitFor(() => expect(fig.querySelector('figcaption')!.textContent).toContain('الطلبات'))
  }, 30_000)
})
