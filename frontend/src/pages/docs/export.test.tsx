import { afterEach, describe, expect, it, vi } from 'vitest'
import { fireEvent, screen, waitFor } from '@testing-library/react'
import { renderApp } from '../../test/render'

describe('Export OpenAPI document', () => {
  afterEach(() => {
    delete (window as { go?: unknown }).go
  })

  it('offers a download of the chosen document in the browser', async () => {
    renderApp({}, '/docs')
    const choice = await screen.findByTestId('docs-export-choice')
    fireEvent.change(choice, { target: { value: 'console.yaml' } })
    const link = screen.getByRole('link', { name: 'Save' })
    expect(link.getAttribute('href')).toBe('/openapi/console.yaml')
    expect(link.getAttribute('download')).toBe('keygate-console.yaml')
  })

  it('uses the native save dialog in the desktop window and says where it saved', async () => {
    const save = vi.fn().mockResolvedValue('/home/ada/keygate-gateway.yaml')
    ;(window as { go?: unknown }).go = { main: { App: { SaveOpenAPI: save } } }
    renderApp({}, '/docs')
    const choice = await screen.findByTestId('docs-export-choice')
    fireEvent.change(choice, { target: { value: 'gateway.yaml' } })
    fireEvent.click(screen.getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(save).toHaveBeenCalledWith('gateway', 'yaml'))
    expect(await screen.findByText('Saved to /home/ada/keygate-gateway.yaml')).toBeTruthy()
  })
})
