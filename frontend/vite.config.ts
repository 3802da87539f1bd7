/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// The console is served at the root of the console listener (and of the Wails asset server),
// with client-side routes such as /keys and /docs, so assets use absolute paths.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 4096,
  },
  server: {
    // The mock transport (npm run dev, ?mock) and tests read ../locales/*.toml.
    fs: { allow: ['..'] },
    proxy: {
      '/api': 'http://127.0.0.1:8788',
      '/openapi': 'http://127.0.0.1:8788',
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    // Each test renders the whole console; on a machine busy with other builds 5 s is not enough.
    testTimeout: 20_000,
  },
})
