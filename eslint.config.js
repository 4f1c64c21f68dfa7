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
// SQL runs only in app/store/: each table has one owner module there, and everything else calls
// its functions. The state database is always a `db`, so calls on a `db` are what is refused.
const sqlOutsideStore = 'SQL runs in app/store/ only: call the module there that owns the table'
const sqliteInStore = { name: 'better-sqlite3', message: sqlOutsideStore }
const noEnums = { selector: 'TSEnumDeclaration', message: 'enums are not erasable; use a const object' }
const noSql = [
  { selector: "CallExpression[callee.property.name='prepare']", message: sqlOutsideStore },
  { selector: "CallExpression[callee.property.name=/^(exec|pragma)$/][callee.object.name=/^db$|Db$/]", message: sqlOutsideStore },
  { selector: "CallExpression[callee.property.name=/^(exec|pragma)$/][callee.object.property.name=/^db$|Db$/]", message: sqlOutsideStore },
]
const noProcess = [
  { name: 'process', message: 'this folder runs in a browser: pass values in instead of reading process' },
  { name: 'Buffer', message: 'this folder runs in a browser: use Uint8Array' },
]

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', 'dist/', 'out/', 'renderer/dist/', 'test/artifacts/', '.bench/', 'app/stand-ins/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', noEnums],
    },
  },
  // A later block's no-restricted-imports replaces an earlier one for the same file, so each
  // app/ folder below repeats appWide.
  {
    files: ['app/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [sqliteInStore], patterns: appWide }] },
  },
  {
    files: ['app/engine/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [sqliteInStore], patterns: [...appWide, ...upward(['agent', 'cli', 'demo', 'tracker'])] }] },
  },
  {
    files: ['app/cli/**/*.ts', 'app/agent/**/*.ts', 'app/demo/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [sqliteInStore], patterns: [...appWide, engineFrontDoor] }] },
  },
  // The store is the bottom layer: the engine and the agent call it, never the reverse.
  {
    files: ['app/store/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...appWide, ...upward(['engine', 'agent', 'cli', 'demo', 'tracker'])] }] },
  },
  {
    files: ['app/**/*.ts', 'main/**/*.ts'],
    ignores: ['app/store/**'],
    rules: { 'no-restricted-syntax': ['error', noEnums, ...noSql] },
  },
  {
    files: ['app/policy/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [sqliteInStore, ...bareBuiltinNames.map((name) => ({ name, message: policyPure }))], patterns: [...appWide, { group: ['node:*'], message: policyPure }] },
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
    rules: { 'no-restricted-imports': ['error', { paths: [sqliteInStore], patterns: upward(['renderer']) }] },
  },
)
