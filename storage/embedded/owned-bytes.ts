/**
 * Bytes to keep for long (in a cache): a view into a buffer much larger than itself — a socket's
 * read chunk the decoders sliced, an encoder's target that cbor-x grows to four times its largest
 * item and keeps for the next ones — would keep that whole buffer alive: a 20-byte inbox slot
 * encoded after a 16 KB record held 188 KiB. Such a view is copied (small copies come from Node's
 * 8 KiB pool); a view that costs at most a pool slab or twice its size is kept as it is.
 */
export function ownedBytes<T> (value: T): T {
  if (!(value instanceof Uint8Array) || value.buffer.byteLength <= Math.max(2 * value.byteLength, Buffer.poolSize)) return value
  return Buffer.from(value) as T
}
