// Folder decides where code may run (see README, "Where code lives").
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const electron = { group: ['electron', 'electron/*'], message: 'only main/ may import electron' }
const nodeBuiltins = { group: ['node:*'], message: 'this folder runs in a browser: no node: modules' }
const bareNodeBuiltins = ['fs', 'path', 'os', 'crypto', 'child_process', 'net', 'http', 'https', 'worker_threads', 'zlib', 'stream', 'url', 'util', 'events', 'buffer'].map((name) => ({
  name,
  message: 'this folder runs in a browser: no Node built-ins',
}))
const upward = (folders) => folders.map((f) => ({ group: [`../${f}/*`, `../../${f}/*`, `../../../${f}/*`, `../../../../${f}/*`], message: `may not import ${f}/` }))
const noProcess = [
  { name: 'process', message: 'this folder runs in a browser: pass values in instead of reading process' },
  { name: 'Buffer', message: 'this folder runs in a browser: use Uint8Array' },
]

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', 'dist/', 'out/', 'renderer/dist/', 'test/artifacts/', '.bench/', 'app/no-webrtc/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'enums are not erasable; use a const object' }],
    },
  },
  {
    files: ['app/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [electron, ...upward(['main', 'renderer'])] }] },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: bareNodeBuiltins, patterns: [electron, nodeBuiltins, ...upward(['app', 'main', 'renderer', 'test'])] }],
      'no-restricted-globals': ['error', ...noProcess],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', { paths: bareNodeBuiltins, patterns: [electron, nodeBuiltins, ...upward(['app', 'main'])] }],
      'no-restricted-globals': ['error', ...noProcess],
    },
  },
  {
    files: ['main/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: upward(['renderer']) }] },
  },
)
