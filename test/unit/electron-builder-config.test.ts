import { fileURLToPath } from 'node:url'
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js'
import { DebugLogger } from 'builder-util'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))

describe('electron-builder.yml', () => {
  it("passes electron-builder's own schema validation", async () => {
    const config = await getConfig(root, null, null)
    expect(config.appId).toBe('dev.shoal.client')
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined()
  })

  it('the validation rejects a broken config (so the test above can fail)', async () => {
    const config = await getConfig(root, null, null)
    await expect(validateConfiguration({ ...config, notAnOption: true } as never, new DebugLogger(false))).rejects.toThrow(/unknown property 'notAnOption'/)
  })
})
