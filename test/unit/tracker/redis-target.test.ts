import { describe, expect, it } from 'vitest'
import { parseRedisTarget } from '../../../app/tracker/redis-target.ts'

describe('--redis', () => {
  it('takes one Redis by URL', () => {
    expect(parseRedisTarget('redis://127.0.0.1:6380/2')).toEqual({ ok: true, target: { kind: 'single', url: 'redis://127.0.0.1:6380/2', where: 'redis at 127.0.0.1:6380' } })
    expect(parseRedisTarget('rediss://cache.example')).toMatchObject({ ok: true, target: { kind: 'single', where: 'redis at cache.example:6379' } })
  })

  it('takes Sentinels, the primary name, the database and a password', () => {
    expect(parseRedisTarget('redis+sentinel://:p%40ss@10.0.0.1:26380,[fd00::2],s3.example:5/shoal/4')).toEqual({
      ok: true,
      target: {
        kind: 'sentinel',
        sentinels: [
          { host: '10.0.0.1', port: 26380 },
          { host: 'fd00::2', port: 26379 },
          { host: 's3.example', port: 5 },
        ],
        name: 'shoal',
        db: 4,
        password: 'p@ss',
        where: 'sentinel 10.0.0.1:26380,[fd00::2],s3.example:5 (shoal)',
      },
    })
    expect(parseRedisTarget('redis+sentinel://127.0.0.1')).toMatchObject({ ok: true, target: { sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'mymaster', db: 0, password: undefined } })
  })

  it('refuses anything else with a reason', () => {
    expect(parseRedisTarget('http://127.0.0.1:6379')).toEqual({ ok: false, reason: 'not a redis://, rediss:// or redis+sentinel:// URL' })
    expect(parseRedisTarget('not a url')).toEqual({ ok: false, reason: 'not a URL' })
    expect(parseRedisTarget('redis+sentinel://a:1,b:99999/x')).toEqual({ ok: false, reason: '"b:99999" is not HOST:PORT' })
    expect(parseRedisTarget('redis+sentinel://a b/x')).toEqual({ ok: false, reason: '"a b" is not HOST:PORT' })
  })
})
