// Loaded with --import into the fake utility process: Electron gives a utility process
// `process.parentPort`; a Node child gets the same shape over its IPC channel.
import { EventEmitter } from 'node:events'

const port = new EventEmitter() as EventEmitter & { postMessage(message: unknown): void; start(): void }
port.postMessage = (message) => process.send?.(message)
port.start = () => {}
process.on('message', (data) => port.emit('message', { data }))
Object.assign(process, { parentPort: port })
