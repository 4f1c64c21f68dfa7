// Folder decides where code may run (see README, "Where code lives").
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const electron = { group: ['electron', 'electron/*'], message: 'only main/ may import electron' }
const nodeBuiltins = { group: ['node:*'], message: 'this folder runs in a browser: no node: modules' }
const bareBuiltinNames = ['fs', 'path', 'os', 'crypto', 'child_process', 'net', 'http', 'https', 'worker_threads', 'zlib', 'stream', 'url', 'util', 'events', 'buffer']
const bareNodeBuiltins = bareBuiltinNames.map((name) => ({ name, message: 'this folder runs in a browser: no Node built-ins' }))
const upward = (folders) => folders.map((f) => ({ group: [`../${f}/*`, `../../${f}/*`, `../../../${f}/*`, `../../../../${f}/*`], message: `may not import ${f}/` }))
// Every app/ folder: no electron, no main/ or renderer/.
const appWide = [electron, ...upward(['main', 'renderer'])]
// Outside app/engine/, the engine is reached only through its front door, engine/engine.ts.
const engineFrontDoor = { group: ['**/engine/*', '!**/engine/engine.ts'], message: 'import the engine through engine/engine.ts only' }
// app/policy/ is pure decisions: values come in as arguments, nothing from Node.
const policyPure = 'app/policy/ is pure: pass values in instead of importing Node built-ins'
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
  // A later block's no-restricted-imports replaces an earlier one for the same file, so each
  // app/ folder below repeats appWide.
  {
    files: ['app/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: appWide }] },
  },
  {
    files: ['app/engine/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...appWide, ...upward(['agent', 'cli', 'demo', 'tracker'])] }] },
  },
  {
    files: ['app/cli/**/*.ts', 'app/agent/**/*.ts', 'app/demo/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...appWide, engineFrontDoor] }] },
  },
  {
    files: ['app/policy/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: bareBuiltinNames.map((name) => ({ name, message: policyPure })), patterns: [...appWide, { group: ['node:*'], message: policyPure }] },
      ],
    },
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
