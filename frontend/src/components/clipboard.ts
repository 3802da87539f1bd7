declare global {
  interface Window {
    runtime?: { ClipboardSetText?: (text: string) => Promise<boolean>; ClipboardGetText?: () => Promise<string> }
  }
}

/** writeClipboard copies text through Wails' runtime in the desktop window, the Clipboard API elsewhere. */
export async function writeClipboard(text: string): Promise<void> {
  if (window.runtime?.ClipboardSetText) {
    await window.runtime.ClipboardSetText(text)
    return
  }
  if (navigator.clipboard?.writeText) {
    await navigator.clipboard.writeText(text)
    return
  }
  const ta = document.createElement('textarea')
  ta.value = text
  ta.setAttribute('readonly', '')
  ta.style.position = 'fixed'
  ta.style.opacity = '0'
  document.body.appendChild(ta)
  ta.select()
  document.execCommand('copy')
  ta.remove()
}

async function readClipboard(): Promise<string | null> {
  try {
    if (window.runtime?.ClipboardGetText) return await window.runtime.ClipboardGetText()
    if (navigator.clipboard?.readText) return await navigator.clipboard.readText()
  } catch {
    // reading needs a permission the page may not have
  }
  return null
}

/**
 * clearClipboardLater empties the clipboard after ms if it still holds secret (or if the
 * platform does not let us look), so a copied key does not linger. Returns a cancel function.
 */
export function clearClipboardLater(secret: string, ms = 60_000): () => void {
  const id = window.setTimeout(async () => {
    const now = await readClipboard()
    if (now === null || now === secret) {
      try {
        await writeClipboard('')
      } catch {
        // nothing more the platform allows
      }
    }
  }, ms)
  return () => window.clearTimeout(id)
}
