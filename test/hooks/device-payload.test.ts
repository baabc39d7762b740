import { describe, expect, it, vi } from 'vitest'
import { decodeCbor, encodeCbor } from '../../protocol/cbor.js'
import { SendRequest } from '../../protocol/envelopes.js'
import { DevicePayload } from '../../hooks/flows/payload.js'

vi.mock('../../protocol/cbor.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../protocol/cbor.js')>()
  return { ...original, decodeCbor: vi.fn(original.decodeCbor) }
})

describe('DevicePayload', () => {
  it('decodes once for the flow and for the error that refuses it', () => {
    vi.mocked(decodeCbor).mockClear()
    const payload = new DevicePayload(Buffer.from(encodeCbor(new Map<number, unknown>([[1, 'ref-1'], [2, 'bob'], [3, 42]]))))
    expect(() => SendRequest.fromCbor(payload.item())).toThrow(/body/)
    expect(payload.clientMsgId()).toBe('ref-1')
    expect(payload.item()).toBeInstanceOf(Map)
    expect(decodeCbor).toHaveBeenCalledTimes(1)
  })

  it('remembers a refusal too, and has no client message id then', () => {
    vi.mocked(decodeCbor).mockClear()
    const payload = new DevicePayload(Buffer.concat([Buffer.from([0x99, 0xff, 0xdc]), Buffer.alloc(65_500, 0xa0)]))
    expect(() => payload.item()).toThrow(expect.objectContaining({ errorName: 'BAD_ENVELOPE' }))
    expect(() => payload.item()).toThrow(expect.objectContaining({ errorName: 'BAD_ENVELOPE' }))
    expect(payload.clientMsgId()).toBeUndefined()
    expect(decodeCbor).toHaveBeenCalledTimes(1)
  })

  it('reads no client message id that is not a valid one', () => {
    expect(new DevicePayload(Buffer.from(encodeCbor(new Map<number, unknown>([[1, ''], [2, 'bob']])))).clientMsgId()).toBeUndefined()
    expect(new DevicePayload(Buffer.from(encodeCbor(['', 'bob']))).clientMsgId()).toBeUndefined()
    expect(new DevicePayload(Buffer.from(encodeCbor('ref-1'))).clientMsgId()).toBeUndefined()
  })

  it('reads the client message id of a send in its array form', () => {
    expect(new DevicePayload(Buffer.from(encodeCbor(['ref-2', 'bob', 42]))).clientMsgId()).toBe('ref-2')
  })
})
