import { chromium, type Browser } from 'playwright-core'

const CHROMIUM = process.env['SHOAL_CHROMIUM'] ?? '/usr/bin/chromium'

/** Debian's Chromium, headless, with nothing that reaches beyond loopback. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}
