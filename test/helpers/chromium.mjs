// Debian's Chromium (`apt-get install chromium`, in .ci/run and scripts/setup.sh) driven by
// playwright-core, for the dashboard's browser tests and bench/dashboard.mjs. Headless, and kept
// off the network: no background updates, metrics, sync or first-run pages; the tests only open
// http://127.0.0.1 pages.
import { chromium } from 'playwright-core'

export const CHROMIUM = process.env.MACHINE_TEST_CHROMIUM ?? '/usr/bin/chromium'

const OFFLINE_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-default-apps',
  '--disable-sync',
  '--metrics-recording-only',
  '--disable-domain-reliability',
]

/** A headless Chromium with no network beyond what its pages ask for. */
export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: OFFLINE_ARGS })
}
