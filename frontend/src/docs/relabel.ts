/**
 * relabel translates the few English texts Scalar's shared components write without going
 * through its localization options (@scalar/components 1.76: the copy button's "Copy" and
 * "Copied", a code block's "Code sample" label, a clamped description's "More" / "Show Less").
 * It rewrites, inside root only, text nodes and aria-label/title attributes that are exactly one
 * of those texts, now and whenever Scalar renders again, until the returned function is called.
 */
export function relabel(root: HTMLElement, texts: Record<string, string>): () => void {
  const map = new Map(Object.entries(texts).filter(([en, t]) => t && t !== en))
  if (map.size === 0) return () => {}
  const fix = (node: Node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      const raw = node.nodeValue ?? ''
      const t = map.get(raw.trim())
      if (t) node.nodeValue = raw.replace(raw.trim(), t)
      return
    }
    if (!(node instanceof Element)) return
    for (const el of [node, ...node.querySelectorAll('[aria-label],[title]')]) {
      for (const a of ['aria-label', 'title']) {
        const t = map.get(el.getAttribute(a) ?? '')
        if (t) el.setAttribute(a, t)
      }
    }
    const walk = document.createTreeWalker(node, NodeFilter.SHOW_TEXT)
    for (let n = walk.nextNode(); n; n = walk.nextNode()) fix(n)
  }
  fix(root)
  const observer = new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'characterData') fix(r.target)
      else if (r.type === 'attributes') fix(r.target)
      else r.addedNodes.forEach(fix)
    }
  })
  observer.observe(root, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['aria-label', 'title'] })
  return () => observer.disconnect()
}

/**
 * completeAria repairs two ARIA mistakes of Scalar's "try it" client, inside root, now and
 * whenever it renders again, until the returned function is called:
 *   - its closed comboboxes (value editors that offer environment variables) get the
 *     aria-expanded="false" a combobox requires; Scalar sets aria-expanded and aria-controls
 *     only while the list is open (axe aria-required-attr, critical);
 *   - its "More Information" buttons say role="none", which a focusable button cannot take and
 *     which forbids their aria-label (axe aria-prohibited-attr): the role is dropped, so they
 *     are the buttons they are.
 */
export function completeAria(root: HTMLElement): () => void {
  const fix = () => {
    for (const el of root.querySelectorAll('[role="combobox"]:not([aria-expanded])')) el.setAttribute('aria-expanded', 'false')
    for (const el of root.querySelectorAll('button[role="none"], button[role="presentation"]')) el.removeAttribute('role')
  }
  fix()
  const observer = new MutationObserver(fix)
  observer.observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: ['role', 'aria-expanded'] })
  return () => observer.disconnect()
}
