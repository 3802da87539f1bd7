// Writes betterauth.json: rows of Better Auth's apikey table as the plugin stores them, hashed
// by the plugin's own defaultKeyHasher. Run from a directory where
// `npm install --legacy-peer-deps @better-auth/api-key@1.7.5 better-auth@1.7.25 @better-auth/core@1.7.25`
// was done:  node betterauth-gen.mjs > betterauth.json
// The plain keys are fixed (tests present them to the gateway); never do this with real keys.
import { defaultKeyHasher } from '@better-auth/api-key'

const key = (c) => 'ba_' + c.repeat(64)
const rows = [
  { // full: scopes, metadata (as the current plugin stores it: JSON text), quota with refill, rate limit
    id: 'k1', configId: 'default', name: 'billing service', start: 'ba_AAA', prefix: 'ba_', key: await defaultKeyHasher(key('A')),
    referenceId: 'user_1', refillInterval: 3600000, refillAmount: 100, lastRefillAt: null, enabled: true,
    rateLimitEnabled: true, rateLimitTimeWindow: 60000, rateLimitMax: 1000, requestCount: 0, remaining: 3,
    lastRequest: null, expiresAt: null, createdAt: '2025-01-02T03:04:05.678Z', updatedAt: '2025-01-02T03:04:05.678Z',
    permissions: JSON.stringify({ files: ['read', 'write'], users: ['read'] }),
    metadata: JSON.stringify({ plan: 'pro', seats: 5 }),
  },
  { // disabled, legacy (better-auth 1.3.x): userId, double-encoded metadata, dates as epoch ms
    id: 'k2', name: null, start: 'ba_BBB', prefix: 'ba_', key: await defaultKeyHasher(key('B')), userId: 'user_2',
    refillInterval: null, refillAmount: null, lastRefillAt: null, enabled: false, rateLimitEnabled: false,
    rateLimitTimeWindow: 86400000, rateLimitMax: 10, requestCount: 3, remaining: null, lastRequest: 1735786800000,
    expiresAt: null, createdAt: 1735700000000, updatedAt: 1735700000000, permissions: null,
    metadata: JSON.stringify(JSON.stringify({ team: 'ops' })),
  },
  { // expired
    id: 'k3', configId: 'default', name: 'old', start: 'ba_CCC', prefix: 'ba_', key: await defaultKeyHasher(key('C')),
    referenceId: 'user_1', enabled: true, rateLimitEnabled: true, rateLimitTimeWindow: 86400000, rateLimitMax: 10,
    requestCount: 0, remaining: null, expiresAt: '2025-02-01T00:00:00.000Z', createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z', permissions: JSON.stringify({ files: ['read'] }), metadata: null,
  },
]
console.log(JSON.stringify(rows, null, 2))
