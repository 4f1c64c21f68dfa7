// Bundles the Electron side into out/main: main, the engine entry, the CLI (for the agent
// services) and their worker threads as ES modules with npm packages left external
// (electron-builder ships node_modules), and the preload as one CommonJS file (a sandboxed
// preload cannot load ES modules or other files).
// `npm run build:desktop` runs it twice: default mode, then `--mode preload`.
import { builtinModules } from 'node:module'
import { fileURLToPath } from 'node:url'
import { defineConfig, type Plugin } from 'vite'

const root = fileURLToPath(new URL('..', import.meta.url))
const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)]

// Every file lands in one folder, so a worker's `new URL('./x-worker.ts', import.meta.url)`
// only needs its extension changed to find the bundled worker next to the chunk that starts it.
const workerUrls: Plugin = {
  name: 'shoal-worker-urls',
  transform(code) {
    return code.includes('-worker.ts') ? code.replace(/new URL\((['"])\.\/([\w-]+-worker)\.ts\1, import\.meta\.url\)/g, "new URL('./$2.js', import.meta.url)") : null
  },
}

export default defineConfig(({ mode }) =>
  mode === 'preload'
    ? {
        root,
        build: {
          outDir: 'out/main',
          emptyOutDir: false,
          target: 'node22',
          minify: false,
          lib: { entry: 'main/preload.ts', formats: ['cjs'], fileName: () => 'preload.cjs' },
          rolldownOptions: { external: ['electron'] },
        },
      }
    : {
        root,
        plugins: [workerUrls],
        build: {
          outDir: 'out/main',
          emptyOutDir: true,
          target: 'node22',
          minify: false,
          ssr: true,
          rolldownOptions: {
            input: {
              index: 'main/index.ts',
              'engine-entry': 'main/engine-entry.ts',
              
              shoal: 'app/cli/shoal.ts',
              'placement-worker': 'app/engine/install/placement-worker.ts',
              'release-worker': 'app/release/release-worker.ts',
            },
            external: ['electron', ...nodeBuiltins],
            output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
          },
        },
      },
)
