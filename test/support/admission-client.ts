// A test peer's side of the TLS admission exchange (app/engine/sources/peers/tls-peers.ts): it
// shows whatever pass it is given, proves it with whatever key it is given, and reports whether
// the listener admitted it and every byte the listener sent.
import type { KeyObject } from 'node:crypto'
import { connect, type TLSSocket } from 'node:tls'
import { proveHolder } from '../../app/release/admission.ts'
import { encodeFrame, readFrame, sessionKeyingMaterial } from '../../app/engine/sources/peers/tls-peers.ts'

export interface AdmissionAttempt {
  readonly port: number
  /** The TLS server name: the swarm asked for. */
  readonly swarm: string
  readonly pass?: string
  /** The key that signs the proof (a pass's own key, or a replayer's). */
  readonly proofKey?: KeyObject
  /** Bytes sent instead of an admission frame (a plain BitTorrent handshake). */
  readonly raw?: Buffer
}

export interface AdmissionOutcome {
  readonly socket: TLSSocket
  readonly admitted: boolean
  /** Everything a refusing listener sent. Once admitted, the socket is paused: attach listeners, then resume() for the listener's BitTorrent bytes. */
  readonly rest: Buffer
}

export function attemptAdmission(a: AdmissionAttempt): Promise<AdmissionOutcome> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: a.port, servername: a.swarm, rejectUnauthorized: false, minVersion: 'TLSv1.3' })
    socket.once('error', (err) => (socket.destroyed ? resolve({ socket, admitted: false, rest: Buffer.alloc(0) }) : reject(err)))
    socket.once('secureConnect', () => {
      const proof = a.proofKey ? proveHolder(a.proofKey, 'dialer', sessionKeyingMaterial(socket, a.swarm)) : undefined
      socket.write(a.raw ?? encodeFrame({ ...(a.pass ? { pass: a.pass } : {}), ...(proof ? { proof } : {}) }))
      const received: Buffer[] = []
      // A frame back means admitted; a close with nothing means refused. Whatever came is kept.
      const collect = (d: Buffer) => received.push(d)
      socket.on('data', collect)
      void readFrame(socket).then((frame) => {
        socket.removeListener('data', collect)
        if (frame) return resolve({ socket, admitted: true, rest: Buffer.alloc(0) })
        socket.once('close', () => resolve({ socket, admitted: false, rest: Buffer.concat(received) }))
        if (socket.destroyed) resolve({ socket, admitted: false, rest: Buffer.concat(received) })
      })
    })
  })
}
