// Whether this machine may upload to peers now, and to whom. Pure: the power and
// network signals, the month's uploads and the free disk come in as values.
import type { Settings } from '../../shared/api-contract.ts'

/** What the OS says about power and the network; read by a platform-specific reader. */
export interface PowerSignals {
  readonly onBattery: boolean
  readonly metered: boolean
}

export interface SharingInputs {
  readonly sharing: Settings['sharing']
  readonly signals: PowerSignals
  readonly uploadedThisMonth: number
  readonly freeDiskBytes: number
}

export interface SharingDecision {
  readonly upload: boolean
  /** Peers outside the LAN may be served. */
  readonly wan: boolean
  /** Why uploading is off, for the status line. */
  readonly reason: string | null
}

export function sharingDecision(i: SharingInputs): SharingDecision {
  const s = i.sharing
  const no = (reason: string): SharingDecision => ({ upload: false, wan: false, reason })
  if (!s.consentGiven) return no('the user has not agreed to share yet')
  if (s.mode === 'off') return no('sharing is off')
  if (i.signals.onBattery && !s.uploadOnBattery) return no('on battery')
  if (i.signals.metered && !s.uploadOnMetered) return no('on a metered connection')
  if (s.monthlyUploadCap !== null && i.uploadedThisMonth >= s.monthlyUploadCap) return no('the monthly upload cap is reached')
  if (i.freeDiskBytes < s.minFreeDisk) return no('free disk is below the minimum')
  return { upload: true, wan: s.mode === 'lan+wan', reason: null }
}

/** A release is seeded for `days` after it was installed. */
export function withinRetention(installedAt: Date, now: Date, days: number): boolean {
  return now.getTime() - installedAt.getTime() < days * 86_400_000
}

/** Calendar month "YYYY-MM" in UTC, the unit of the monthly upload cap. */
export function monthOf(now: Date): string {
  return now.toISOString().slice(0, 7)
}
