// Vite empties dist/ before a build; dist/.gitkeep is tracked so that `go:embed` always has a
// directory to embed in a clean clone. Recreate it so `git status` stays clean after a build.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')
mkdirSync(dist, { recursive: true })
writeFileSync(join(dist, '.gitkeep'), '')
