/**
 * Test hook for crash safety: with SHOAL_CRASH_AT=<name> the process kills itself at
 * that point, exactly as kill -9 or a power cut would. Unset, it does nothing.
 */
export function crashPoint(name: string): void {
  if (process.env['SHOAL_CRASH_AT'] === name) process.kill(process.pid, 'SIGKILL')
}
