// Builds renderer/ into renderer/dist with relative paths, so Electron can load it from file://
// and the agent can serve it from any port. Vite's own transform handles TSX (tsconfig jsx: react-jsx).
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

export default defineConfig({
  root: fileURLToPath(new URL('./renderer', import.meta.url)),
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One small bundle: no inline scripts or styles, so the strict CSP needs no exceptions.
    modulePreload: false,
    assetsInlineLimit: 0,
  },
})
