/**
 * Issue 8 §4: one settings table. `defineServerConfig` (the embedding API) refuses every value
 * the flags refuse, with a TypeError naming the setting; the command line keeps its ConfigError
 * naming the flag and the variable; the result is frozen all the way down. `serve --help`
 * against the table is in cli-usage.test.ts.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  ConfigError,
  DEFAULTS,
  SETTINGS,
  SETTING_LIST,
  defineServerConfig,
  resolveServerConfig,
  type ServerConfigOverrides,
  type Setting,
} from '../src/config.js'
import { parseCidr } from '../src/net/cidr.js'
import { TOKEN_LIFETIME_SECONDS } from '../src/tokens/lifetime.js'

/** `defineServerConfig(overrides)` must throw a TypeError whose message matches. */
function refuses(overrides: unknown, message: RegExp): void {
  assert.throws(
    () => defineServerConfig(overrides as ServerConfigOverrides),
    (error: unknown) => {
      assert.ok(error instanceof TypeError, `a TypeError, got ${String(error)}`)
      assert.match(error.message, message)
      return true
    },
  )
}

/** The override object that sets one setting, by its table name (`argon2.timeCost` nests). */
function override(setting: Setting, value: unknown): Record<string, unknown> {
  const [head, param] = setting.key.split('.')
  return param === undefined ? { [head!]: value } : { [head!]: { [param]: value } }
}

function valueOf(config: object, setting: Setting): unknown {
  const [head, param] = setting.key.split('.')
  const value = (config as Record<string, unknown>)[head!]
  return param === undefined ? value : (value as Record<string, unknown>)[param]
}

describe('defineServerConfig refuses what the flags refuse, naming the setting', () => {
  it('the example of the issue: an out-of-range port, signing algorithm "none", zero hash workers', () => {
    refuses({ port: 99999, signingAlgorithm: 'none', hashConcurrency: 0 }, /^defineServerConfig: port must be at most 65535, got 99999$/)
    refuses({ signingAlgorithm: 'none' }, /^defineServerConfig: signingAlgorithm must be one of EdDSA, ES256, HS256, got "none"$/)
    refuses({ hashConcurrency: 0 }, /^defineServerConfig: hashConcurrency must be at least 1, got 0$/)
  })

  it('integers: below the minimum, above the maximum, fractions, NaN, infinities and strings', () => {
    refuses({ port: -1 }, /^defineServerConfig: port must be at least 0, got -1$/)
    refuses({ maxHeaderBytes: 1023 }, /^defineServerConfig: maxHeaderBytes must be at least 1024, got 1023$/)
    refuses({ port: 80.5 }, /^defineServerConfig: port must be a whole number, got 80\.5$/)
    refuses({ port: Number.NaN }, /^defineServerConfig: port must be a whole number, got NaN$/)
    refuses({ shutdownGraceMs: Number.POSITIVE_INFINITY }, /^defineServerConfig: shutdownGraceMs must be a whole number, got Infinity$/)
    refuses({ port: '8080' }, /^defineServerConfig: port must be a whole number, got "8080"$/)
    refuses({ keyRefreshSeconds: null }, /^defineServerConfig: keyRefreshSeconds must be a whole number, got null$/)
  })

  it('every integer setting of the table at its bounds: the bound is accepted, one past it is refused', () => {
    const integers = SETTING_LIST.filter((setting) => setting.kind === 'integer')
    assert.ok(integers.length >= 30, `the table's integers, got ${integers.length}`)
    // The longest lock may be as short as 1 s only with a first lock that short.
    const at = (setting: Setting, value: number) => ({ lockoutBaseSeconds: 1, ...override(setting, value) })
    for (const setting of integers) {
      const name = new RegExp(`^defineServerConfig: ${setting.key.replace('.', '\\.')} must be `)
      const min = setting.min ?? 0
      assert.equal(valueOf(defineServerConfig(at(setting, min)), setting), min, `${setting.key} = ${min}`)
      refuses(override(setting, min - 1), name)
      refuses(override(setting, min + 0.5), name)
      if (setting.max !== undefined) {
        assert.equal(valueOf(defineServerConfig(at(setting, setting.max)), setting), setting.max)
        refuses(override(setting, setting.max + 1), name)
      }
    }
  })

  it('choices: a value not in the list, and the right word of the wrong case', () => {
    refuses({ logLevel: 'verbose' }, /^defineServerConfig: logLevel must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"$/)
    refuses({ signingAlgorithm: 'eddsa' }, /^defineServerConfig: signingAlgorithm must be one of /)
    refuses({ signingAlgorithm: 256 }, /^defineServerConfig: signingAlgorithm must be one of .*, got 256$/)
  })

  it('strings: empty, or not a string, without echoing the value', () => {
    for (const key of ['host', 'issuer', 'dataDir', 'databaseUrl', 'tlsCert', 'tlsKey', 'keyEncryptionKey'] as const) {
      refuses({ [key]: '' }, new RegExp(`^defineServerConfig: ${key} must not be empty$`))
    }
    refuses({ issuer: 42 }, /^defineServerConfig: issuer must be a string, got a number$/)
    const secretUrl = ['postgres://bizauth:sekrit-pw@db/bizauth']
    assert.throws(() => defineServerConfig({ databaseUrl: secretUrl as never }), (error: Error) => {
      assert.match(error.message, /^defineServerConfig: databaseUrl must be a string, got an array$/)
      assert.ok(!error.message.includes('sekrit-pw'))
      return true
    })
  })

  it('booleans: a string or a number is not a boolean', () => {
    refuses({ uniformAuthErrors: 'true' }, /^defineServerConfig: uniformAuthErrors must be true or false, got "true"$/)
    refuses({ uniformAuthErrors: 1 }, /^defineServerConfig: uniformAuthErrors must be true or false, got 1$/)
  })

  it('CIDR lists: host bits, a word, a bare string instead of a list, a stray object', () => {
    refuses({ trustProxy: ['10.0.0.1/8'] }, /^defineServerConfig: trustProxy: .*host bits/)
    refuses({ trustProxy: ['proxy.internal'] }, /^defineServerConfig: trustProxy: /)
    refuses({ trustProxy: '10.0.0.0/8' }, /^defineServerConfig: trustProxy must be a list of addresses or CIDR ranges, got "10\.0\.0\.0\/8"$/)
    refuses({ trustProxy: [{ prefix: 8 }] }, /^defineServerConfig: trustProxy: each entry must be an address or CIDR range/)
  })

  it('argon2 parameters: each bounded like its flag, an unknown parameter, a non-object', () => {
    refuses({ argon2: { memoryCost: 512 } }, /^defineServerConfig: argon2\.memoryCost must be at least 1024, got 512$/)
    refuses({ argon2: { timeCost: 0 } }, /^defineServerConfig: argon2\.timeCost must be at least 1, got 0$/)
    refuses({ argon2: { parallelism: 1.5 } }, /^defineServerConfig: argon2\.parallelism must be a whole number, got 1\.5$/)
    refuses({ argon2: { saltLength: 16 } }, /^defineServerConfig: unknown setting "argon2\.saltLength"$/)
    refuses({ argon2: 4 }, /^defineServerConfig: argon2 must be an object of memoryCost, timeCost, parallelism, got 4$/)
  })

  it('unknown keys, including the token lifetime, which is not a setting', () => {
    refuses({ prot: 8080 }, /^defineServerConfig: unknown setting "prot"$/)
    refuses({ tokenTtlSeconds: 60 }, /^defineServerConfig: unknown setting "tokenTtlSeconds"$/)
    refuses({ 'argon2.timeCost': 3 }, /^defineServerConfig: unknown setting "argon2\.timeCost"$/)
    refuses(null, /^defineServerConfig: the overrides must be an object of settings, got null$/)
    assert.ok(!('tokenTtlSeconds' in DEFAULTS))
    assert.equal(TOKEN_LIFETIME_SECONDS, 86_400, 'contract.md §1')
  })

  it('the checks that span settings: TLS certificate and key together, longest lock at least the first', () => {
    refuses({ tlsCert: 'cert.pem' }, /^defineServerConfig: tlsCert and tlsKey go together/)
    refuses({ tlsKey: 'key.pem' }, /^defineServerConfig: tlsCert and tlsKey go together/)
    refuses({ lockoutBaseSeconds: 120, lockoutMaxSeconds: 60 }, /^defineServerConfig: lockoutMaxSeconds must be at least lockoutBaseSeconds, got 60 < 120$/)
    assert.equal(defineServerConfig({ tlsCert: 'cert.pem', tlsKey: 'key.pem' }).tlsKey, 'key.pem')
    refuses({ adminTlsCert: 'cert.pem' }, /^defineServerConfig: adminTlsCert and adminTlsKey go together/)
  })

  it('the admin listener: 127.0.0.1:8081 by default, a port, or off', () => {
    assert.equal(DEFAULTS.adminHost, '127.0.0.1')
    assert.equal(DEFAULTS.adminPort, 8081)
    assert.equal(resolveServerConfig({ 'admin-port': 'off' }, {}).adminPort, 'off')
    assert.equal(resolveServerConfig({}, { BIZAUTH_ADMIN_PORT: 'OFF' }).adminPort, 'off')
    assert.equal(resolveServerConfig({ 'admin-port': '0' }, {}).adminPort, 0)
    assert.equal(defineServerConfig({ adminPort: 'off' }).adminPort, 'off')
    assert.throws(() => resolveServerConfig({ 'admin-port': 'of' }, {}), /^ConfigError: --admin-port \(BIZAUTH_ADMIN_PORT\) must be a whole number/)
  })

  it('Redis: off by default; a redis:// or rediss:// URL only, refused with what to write and never echoed', () => {
    assert.equal(DEFAULTS.redisUrl, undefined)
    assert.equal(DEFAULTS.redisKeyPrefix, 'bizauth:')
    assert.equal(DEFAULTS.redisTimeoutMs, 50)
    assert.equal(resolveServerConfig({}, { BIZAUTH_REDIS_URL: 'rediss://:pw@cache:6380/1' }).redisUrl, 'rediss://:pw@cache:6380/1')
    assert.equal(resolveServerConfig({ 'redis-url': 'redis://cache' }, {}).redisUrl, 'redis://cache')
    for (const refused of ['http://:hunter2@cache:6379', 'cache:6379', 'hunter2-only', 'redis://:hunter2@[bad']) {
      assert.throws(() => resolveServerConfig({}, { BIZAUTH_REDIS_URL: refused }), (error: unknown) => {
        assert.ok(error instanceof ConfigError)
        assert.match(error.message, /^--redis-url \(BIZAUTH_REDIS_URL\) (must be a redis:\/\/ or rediss:\/\/ URL|is not a valid URL)/)
        assert.match(error.message, /redis:\/\/(:PASSWORD@HOST:6379\/0|\[:PASSWORD@\]HOST)/, 'says what to write')
        assert.ok(!error.message.includes('hunter2'), error.message)
        return true
      })
    }
    refuses({ redisUrl: 'http://cache' }, /^defineServerConfig: redisUrl must be a redis:\/\/ or rediss:\/\/ URL/)
    refuses({ redisTimeoutMs: 0 }, /^defineServerConfig: redisTimeoutMs must be at least 1/)
  })
})

describe('the command line refuses the same values, naming the flag and the variable', () => {
  /** A text the flag refuses, and the override defineServerConfig refuses for the same reason. */
  function badPairs(setting: Setting): Array<[string, unknown]> {
    switch (setting.kind) {
      case 'integer': {
        const pairs: Array<[string, unknown]> = [['1.5', 1.5], [String((setting.min ?? 0) - 1), (setting.min ?? 0) - 1]]
        if (setting.max !== undefined) pairs.push([String(setting.max + 1), setting.max + 1])
        return pairs
      }
      case 'choice':
        return [['none', 'none']]
      case 'string':
        return [['', '']]
      case 'boolean':
        return [['maybe', 'maybe']]
      case 'cidrs':
        return [['10.0.0.1/8', ['10.0.0.1/8']]]
      case 'portOrOff':
        return [['none', 'none'], ['65536', 65536], ['1.5', 1.5]]
      case 'url':
        return [['', ''], ['http://cache:6379', 'http://cache:6379'], ['cache:6379', 'cache:6379']]
    }
  }

  it('every setting with a flag: the flag refuses it with ConfigError, defineServerConfig with TypeError', () => {
    let cases = 0
    for (const setting of SETTING_LIST) {
      if (setting.flag === undefined) continue
      for (const [text, value] of badPairs(setting)) {
        assert.throws(() => resolveServerConfig({ [setting.flag]: text }, {}), (error: unknown) => {
          assert.ok(error instanceof ConfigError, `${setting.key} from "${text}": ${String(error)}`)
          assert.ok(error.message.startsWith(`--${setting.flag} (${setting.env})`), error.message)
          return true
        })
        assert.throws(() => defineServerConfig(override(setting, value)), (error: unknown) => {
          assert.ok(error instanceof TypeError, `${setting.key} = ${String(value)}`)
          assert.ok(error.message.startsWith(`defineServerConfig: ${setting.key}`), error.message)
          return true
        })
        cases++
      }
    }
    assert.ok(cases >= 50, `cases run: ${cases}`)
  })

  it('the environment is checked like the flag; an empty variable counts as unset', () => {
    assert.throws(() => resolveServerConfig({}, { BIZAUTH_PORT: '70000' }), /^ConfigError: --port \(BIZAUTH_PORT\) must be at most 65535, got 70000$/)
    assert.throws(() => resolveServerConfig({}, { BIZAUTH_ARGON2_TIME: '0' }), /--argon2-time \(BIZAUTH_ARGON2_TIME\) must be at least 1/)
    assert.throws(() => resolveServerConfig({ 'tls-key': 'key.pem' }, {}), /^ConfigError: --tls-cert and --tls-key go together/)
    assert.throws(() => resolveServerConfig({}, { BIZAUTH_LOCKOUT_SECONDS: '100', BIZAUTH_LOCKOUT_MAX_SECONDS: '99' }), /--lockout-max-seconds must be at least --lockout-seconds/)
    assert.equal(resolveServerConfig({}, { BIZAUTH_PORT: '', BIZAUTH_HOST: '' }).port, DEFAULTS.port)
    assert.equal(resolveServerConfig({}, { BIZAUTH_KEY_ENCRYPTION_KEY: 'k'.repeat(40) }).keyEncryptionKey, 'k'.repeat(40), 'the secret comes from the environment')
  })

  it('a flag wins over the environment, which wins over the overrides, which win over the defaults', () => {
    const overrides = { port: 3000, issuer: 'from-overrides', argon2: { timeCost: 4 } }
    const config = resolveServerConfig({ port: '1000' }, { BIZAUTH_PORT: '2000', BIZAUTH_ISSUER: 'from-env', BIZAUTH_ARGON2_MEMORY: '2048' }, overrides)
    assert.equal(config.port, 1000, 'flag')
    assert.equal(config.issuer, 'from-env', 'environment over overrides')
    assert.deepEqual(config.argon2, { memoryCost: 2048, timeCost: 4, parallelism: DEFAULTS.argon2.parallelism }, 'argon2 parameters one by one')
    assert.equal(resolveServerConfig({}, {}, overrides).port, 3000, 'overrides over defaults')
    assert.equal(resolveServerConfig({}, {}).keyRefreshSeconds, DEFAULTS.keyRefreshSeconds, 'defaults')
    assert.equal(resolveServerConfig({ 'uniform-auth-errors': true }, { BIZAUTH_UNIFORM_AUTH_ERRORS: 'off' }).uniformAuthErrors, true)
  })
})

describe('the rate limit (contract.md §6): --rate-limit and --rate-limit-window', () => {
  it('defaults to 1000 a 60-second window, reads flags and variables, and turns off with 0', () => {
    assert.deepEqual([DEFAULTS.rateLimit, DEFAULTS.rateLimitWindowSeconds], [1000, 60])
    const flagged = resolveServerConfig({ 'rate-limit': '5', 'rate-limit-window': '2' }, {})
    assert.deepEqual([flagged.rateLimit, flagged.rateLimitWindowSeconds], [5, 2])
    const fromEnv = resolveServerConfig({}, { BIZAUTH_RATE_LIMIT: '0', BIZAUTH_RATE_LIMIT_WINDOW: '86400' })
    assert.deepEqual([fromEnv.rateLimit, fromEnv.rateLimitWindowSeconds], [0, 86_400])
  })

  it('refuses a negative or fractional limit and a window under a second or over a day, naming the flag', () => {
    assert.throws(() => resolveServerConfig({ 'rate-limit': '-1' }, {}), /^ConfigError: --rate-limit \(BIZAUTH_RATE_LIMIT\) must be a whole number/)
    assert.throws(() => resolveServerConfig({}, { BIZAUTH_RATE_LIMIT: '1.5' }), /--rate-limit \(BIZAUTH_RATE_LIMIT\) must be a whole number/)
    assert.throws(() => resolveServerConfig({ 'rate-limit-window': '0' }, {}), /--rate-limit-window \(BIZAUTH_RATE_LIMIT_WINDOW\) must be at least 1, got 0/)
    assert.throws(() => resolveServerConfig({ 'rate-limit-window': '86401' }, {}), /must be at most 86400/)
    refuses({ rateLimitWindowSeconds: 0.5 }, /rateLimitWindowSeconds must be a whole number/)
    refuses({ rateLimit: -1 }, /rateLimit must be at least 0/)
  })

  it('has replaced --issuance-rate, which is no setting any more', () => {
    assert.ok(!SETTING_LIST.some((setting) => setting.flag === 'issuance-rate' || setting.env === 'BIZAUTH_ISSUANCE_RATE'))
    refuses({ issuanceRatePerMinute: 600 }, /unknown setting/)
  })
})

describe('what defineServerConfig returns', () => {
  it('is the defaults of the table, and DEFAULTS is that too', () => {
    const config = defineServerConfig()
    for (const setting of SETTING_LIST) {
      assert.deepEqual(valueOf(config, setting), setting.default, setting.key)
      assert.deepEqual(valueOf(DEFAULTS, setting), setting.default, setting.key)
    }
    assert.deepEqual(Object.keys(config).sort(), Object.keys(DEFAULTS).sort())
  })

  it('takes CIDR lists as text or as parsed ranges, canonical either way, and undefined as "not given"', () => {
    const config = defineServerConfig({ trustProxy: ['10.0.0.0/8', parseCidr('::1')] as never, port: undefined, argon2: { timeCost: 3 } })
    assert.deepEqual(config.trustProxy.map((cidr) => cidr.text), ['10.0.0.0/8', '::1/128'])
    assert.equal(config.port, DEFAULTS.port)
    assert.deepEqual(config.argon2, { ...DEFAULTS.argon2, timeCost: 3 })
  })

  it('is frozen all the way down', () => {
    const config = defineServerConfig({ trustProxy: [parseCidr('10.0.0.0/8')] })
    for (const part of [config, config.argon2, config.trustProxy, config.trustProxy[0]]) assert.ok(Object.isFrozen(part))
    assert.throws(() => {
      ;(config as { port: number }).port = 1
    }, TypeError)
    assert.throws(() => {
      ;(config.argon2 as { timeCost: number }).timeCost = 1
    }, TypeError)
    assert.throws(() => (config.trustProxy as unknown[]).push(parseCidr('::1')), TypeError)
    assert.ok(Object.isFrozen(DEFAULTS.argon2) && Object.isFrozen(SETTINGS.port))
  })
})
