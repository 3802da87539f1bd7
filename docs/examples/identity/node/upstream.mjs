// An API behind Keygate that serves only requests carrying a valid X-Keygate-Jwt, and answers
// with who called. Node 18+, no dependency (fetch and WebCrypto). KEYGATE_URL is the gateway's
// public URL (the tokens' iss; the keys are at KEYGATE_URL/.well-known/jwks.json), AUDIENCE the
// route prefix, PORT the port to serve on.
import { createServer } from 'node:http'
import { webcrypto } from 'node:crypto'

const ISSUER = process.env.KEYGATE_URL // e.g. http://127.0.0.1:8787
const AUDIENCE = process.env.AUDIENCE // e.g. /pets
const JWKS_URL = `${ISSUER}/.well-known/jwks.json`
let keys = []

const b64 = (s) => Buffer.from(s, 'base64url')

// keyFor returns the public key kid names, fetching the keys again when it is new (a rotation).
async function keyFor(kid) {
  if (!keys.some((k) => k.kid === kid)) keys = (await (await fetch(JWKS_URL)).json()).keys
  const jwk = keys.find((k) => k.kid === kid)
  if (!jwk) throw new Error('unknown signing key')
  return webcrypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
}

// verifyIdentity returns the claims of a valid X-Keygate-Jwt, or throws.
async function verifyIdentity(token) {
  const [h, p, s, ...rest] = String(token ?? '').split('.')
  if (!s || rest.length) throw new Error('not a signed token')
  const header = JSON.parse(b64(h))
  if (header.alg !== 'ES256') throw new Error('unexpected algorithm')
  const key = await keyFor(header.kid)
  const data = new TextEncoder().encode(`${h}.${p}`)
  if (!(await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, b64(s), data))) throw new Error('bad signature')
  const claims = JSON.parse(b64(p))
  const now = Date.now() / 1000
  if (claims.iss !== ISSUER || ![].concat(claims.aud).includes(AUDIENCE)) throw new Error('not for this API')
  if (!(claims.exp > now - 5) || !(claims.nbf < now + 5)) throw new Error('expired or not yet valid')
  return claims // { sub, org, scopes, meta, … }: sub is the key id (or the console user's id)
}

createServer(async (req, res) => {
  try {
    const who = await verifyIdentity(req.headers['x-keygate-jwt'])
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(who))
  } catch (err) {
    res.writeHead(401, { 'content-type': 'text/plain' }).end(`not signed by Keygate: ${err.message}`)
  }
}).listen(Number(process.env.PORT), '127.0.0.1')
