import { useSyncExternalStore } from 'react'

// The keyring holds secrets created in this window so the Docs screen can offer them for "try it".
// Memory only: never written to storage, gone on reload.

export interface HeldKey { id: string; name: string; start: string; key: string; orgId: string }

let held: HeldKey[] = []
const listeners = new Set<() => void>()

export function holdKey(k: HeldKey) {
  held = [k, ...held.filter((x) => x.id !== k.id)].slice(0, 20)
  listeners.forEach((l) => l())
}

export function forgetKey(id: string) {
  held = held.filter((x) => x.id !== id)
  listeners.forEach((l) => l())
}

export function useHeldKeys(): HeldKey[] {
  return useSyncExternalStore(
    (l) => { listeners.add(l); return () => listeners.delete(l) },
    () => held,
  )
}
