import { SignJWT, type JWTVerifyGetKey } from 'jose'
import { createSecretKey } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createTokenVerifier } from '../../hooks/token-verifier.js'

const SECRET = new TextEncoder().encode('verifier-test-secret-0123456789')
const T0 = 1_800_000_000

function token (sub: string, exp: number, secret = SECRET, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime(exp).sign(secret)
}

/** A verifier at a settable time, and how many times jose asked it for the key (once per signature it checked). */
function verifierAt (start: number): { verifier: ReturnType<typeof createTokenVerifier>, setSeconds (s: number): void, keyAsked (): number } {
  let nowMs = start * 1000
  let asked = 0
  const key: JWTVerifyGetKey = () => { asked++; return createSecretKey(SECRET) }
  return { verifier: createTokenVerifier(key, ['HS256'], () => nowMs), setSeconds: (s) => { nowMs = s * 1000 }, keyAsked: () => asked }
}

describe('createTokenVerifier', () => {
  it('checks a token\'s signature once: a reconnect with the same token is answered from what was verified', async () => {
    const { verifier, keyAsked } = verifierAt(T0)
    const alice = await token('alice', T0 + 3600, SECRET, { dev: 'phone' })
    expect(await verifier.verify(alice)).toEqual({ userId: 'alice', deviceId: 'phone' })
    expect(await verifier.verify(alice)).toEqual({ userId: 'alice', deviceId: 'phone' })
    expect(keyAsked()).toBe(1)
    expect(await verifier.verify(await token('bob', T0 + 3600))).toEqual({ userId: 'bob' })
    expect(keyAsked()).toBe(2)
  })

  it('refuses a remembered token from the second its exp names, as jose does', async () => {
    const { verifier, setSeconds } = verifierAt(T0)
    const alice = await token('alice', T0 + 10)
    await verifier.verify(alice)
    setSeconds(T0 + 9)
    expect(await verifier.verify(alice)).toEqual({ userId: 'alice' })
    setSeconds(T0 + 10)
    await expect(verifier.verify(alice)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' })
  })

  it('remembers no refused token: each try is checked again and refused again', async () => {
    const { verifier, keyAsked } = verifierAt(T0)
    const forged = await token('alice', T0 + 3600, new TextEncoder().encode('another-secret-0123456789abcdef'))
    await expect(verifier.verify(forged)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' })
    await expect(verifier.verify(forged)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' })
    expect(keyAsked()).toBe(2)
  })
})
