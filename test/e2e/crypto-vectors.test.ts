import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it } from 'vitest'
import { dh, identityDhPublic, identityDhSecret, kdf, sign, signingKeyPair, verify } from '../../clients/sdk/crypto/primitives.js'
import { fingerprintDigits } from '../../clients/sdk/crypto/safety-number.js'

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'))
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

/** The published vectors of every primitive the protocols stand on, through the SDK's own wrappers. */
describe('primitives against their published test vectors', () => {
  it('X25519: RFC 7748 §5.2 and the §6.1 Diffie-Hellman example', () => {
    expect(toHex(dh(hex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'), hex('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c'))))
      .toBe('c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552')
    const alice = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
    const bob = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
    expect(toHex(x25519.getPublicKey(alice))).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
    expect(toHex(x25519.getPublicKey(bob))).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
    expect(toHex(dh(alice, x25519.getPublicKey(bob)))).toBe(shared)
    expect(toHex(dh(bob, x25519.getPublicKey(alice)))).toBe(shared)
  })

  it('Ed25519: RFC 8032 §7.1 tests 1 and 2', () => {
    const cases = [
      { secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', message: '',
        sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b' },
      { secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', message: '72',
        sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00' }
    ]
    for (const c of cases) {
      expect(toHex(ed25519.getPublicKey(hex(c.secret)))).toBe(c.pub)
      expect(toHex(sign(hex(c.secret), hex(c.message)))).toBe(c.sig)
      expect(verify(hex(c.pub), hex(c.message), hex(c.sig))).toBe(true)
      expect(verify(hex(c.pub), hex('00'), hex(c.sig))).toBe(false)
    }
  })

  it('HKDF-SHA-256: RFC 5869 test case 1', () => {
    const okm = kdf(hex('0b'.repeat(22)), hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42)
    expect(toHex(okm)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865')
  })

  it('ChaCha20-Poly1305: RFC 8439 §2.8.2', () => {
    const plaintext = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
    const sealed = chacha20poly1305(hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f'), hex('070000004041424344454647'), hex('50515253c0c1c2c3c4c5c6c7')).encrypt(plaintext)
    expect(toHex(sealed)).toBe('d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116' +
      '1ae10b594f09e26a7e902ecbd0600691')
  })

  it('an Ed25519 identity agrees over X25519 through the birational map', () => {
    const a = signingKeyPair()
    const b = signingKeyPair()
    expect(toHex(dh(identityDhSecret(a.secretKey), identityDhPublic(b.publicKey)))).toBe(toHex(dh(identityDhSecret(b.secretKey), identityDhPublic(a.publicKey))))
  })

  it("safety numbers: libsignal's numeric fingerprint vector", () => {
    // libsignal NumericFingerprintGeneratorTest (version 0 digits): Encode()d identity keys, phone numbers as stable ids.
    const alice = hex('0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868')
    const bob = hex('05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b')
    const a = fingerprintDigits('+14152222222', [alice])
    const b = fingerprintDigits('+14153333333', [bob])
    expect(a < b ? a + b : b + a).toBe('300354477692869396892869876765458257569162576843440918079131')
  })
})
