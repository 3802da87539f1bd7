import { describe, expect, it } from 'vitest'
import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { renderApp } from '../../test/render'

describe('change password', () => {
  it('checks the form, shows the server’s field error and clears the form on success', async () => {
    renderApp({}, '/preferences')
    const form = await screen.findByTestId('change-password')
    const set = (label: string, value: string) => fireEvent.change(within(form).getByLabelText(label), { target: { value } })
    fireEvent.click(within(form).getByRole('button', { name: 'Change password' }))
    expect(await within(form).findByText('This field is required.')).toBeTruthy()
    set('Current password', 'wrong one')
    set('New password', 'a brand new passphrase')
    set('Confirm password', 'a different passphrase')
    fireEvent.click(within(form).getByRole('button', { name: 'Change password' }))
    expect(await within(form).findByText('The passwords do not match.')).toBeTruthy()
    set('Confirm password', 'a brand new passphrase')
    fireEvent.click(within(form).getByRole('button', { name: 'Change password' }))
    expect(await within(form).findByText('The current password is wrong.')).toBeTruthy()
    set('Current password', 'correct horse')
    fireEvent.click(within(form).getByRole('button', { name: 'Change password' }))
    expect(await screen.findByText('Password changed. Your other sessions have ended.')).toBeTruthy()
    await waitFor(() => expect((within(form).getByLabelText('Current password') as HTMLInputElement).value).toBe(''))
  }, 20_000)

  it('is not offered on the desktop, which has no accounts', async () => {
    renderApp({ desktop: true }, '/preferences')
    await screen.findByRole('heading', { name: 'Preferences', level: 1 })
    expect(screen.queryByTestId('change-password')).toBeNull()
  })
})

describe('password reset link', () => {
  it('an admin issues a link for a member, shown once with its token in the fragment', async () => {
    renderApp({}, '/members')
    const buttons = await screen.findAllByRole('button', { name: /^Password reset link for / })
    fireEvent.click(buttons[0])
    const dialog = await screen.findByRole('dialog')
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create link' }))
    const link = await within(dialog).findByTestId('reset-link')
    expect(link.textContent).toMatch(/^http:\/\/[^/]+\/reset-password#token=\w+$/)
  })

  it('sets a new password from the link and drops the token from the address bar', async () => {
    renderApp({ signedIn: false }, '/reset-password#token=abc123')
    const pw = await screen.findByLabelText('New password')
    expect(window.location.hash).toBe('')
    fireEvent.change(pw, { target: { value: 'a brand new passphrase' } })
    fireEvent.change(screen.getByLabelText('Confirm password'), { target: { value: 'a brand new passphrase' } })
    fireEvent.click(screen.getByRole('button', { name: 'Set password' }))
    expect(await screen.findByText('Password set. Sign in with your new password.')).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }))
    expect(await screen.findByLabelText('Email')).toBeTruthy()
  })

  it('says what to do without a token', async () => {
    renderApp({ signedIn: false }, '/reset-password')
    expect(await screen.findByText(/Open the password reset link an admin gave you/)).toBeTruthy()
  })
})
