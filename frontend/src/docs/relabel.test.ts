import { describe, expect, it } from 'vitest'
import { completeAria, relabel } from './relabel'

const tick = () => new Promise((r) => setTimeout(r, 0))

describe('relabel', () => {
  it('translates Scalar\'s own texts inside its root, now and when it renders again', async () => {
    const outside = document.createElement('p')
    outside.textContent = 'Copy'
    const root = document.createElement('div')
    root.innerHTML = '<button aria-label="Code sample"><span> Copy </span></button><p>Copy this value</p>'
    document.body.append(outside, root)
    const stop = relabel(root, { Copy: 'コピー', 'Code sample': 'コードサンプル', Enter: '' })
    expect(root.querySelector('span')!.textContent).toBe(' コピー ')
    expect(root.querySelector('button')!.getAttribute('aria-label')).toBe('コードサンプル')
    expect(root.querySelector('p')!.textContent).toBe('Copy this value') // only whole texts
    expect(outside.textContent).toBe('Copy') // nothing outside the root

    const span = root.querySelector('span')!
    span.firstChild!.nodeValue = 'Copy' // Vue patches the text back
    const added = document.createElement('b')
    added.textContent = 'Code sample'
    root.append(added)
    await tick()
    expect(span.textContent).toBe('コピー')
    expect(added.textContent).toBe('コードサンプル')

    stop()
    span.firstChild!.nodeValue = 'Copy'
    await tick()
    expect(span.textContent).toBe('Copy')
  })

  it('does nothing where the language says it as English does', () => {
    const root = document.createElement('div')
    root.textContent = 'Copy'
    relabel(root, { Copy: 'Copy' })()
    expect(root.textContent).toBe('Copy')
  })
})

describe('completeAria', () => {
  it('marks closed comboboxes as collapsed, and leaves open ones as Scalar says', async () => {
    const root = document.createElement('div')
    root.innerHTML = '<div role="combobox"></div><div role="combobox" aria-expanded="true" aria-controls="l"></div><div role="textbox"></div>'
    const stop = completeAria(root)
    const [closed, open, text] = root.children
    expect(closed.getAttribute('aria-expanded')).toBe('false')
    expect(open.getAttribute('aria-expanded')).toBe('true')
    expect(text.hasAttribute('aria-expanded')).toBe(false)
    open.removeAttribute('aria-expanded') // Scalar closes the list
    await tick()
    expect(open.getAttribute('aria-expanded')).toBe('false')
    stop()
  })

  it('lets a focusable button be a button', () => {
    const root = document.createElement('div')
    root.innerHTML = '<button role="none" aria-label="More Information"></button><span role="none"></span>'
    completeAria(root)()
    expect(root.querySelector('button')!.hasAttribute('role')).toBe(false)
    expect(root.querySelector('span')!.getAttribute('role')).toBe('none')
  })
})
