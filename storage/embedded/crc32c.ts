/**
 * CRC-32C (Castagnoli), as LevelDB checksums its log records and table blocks. Written here: the
 * npm packages for it either build native code at install or pull in the AWS SDK's type packages,
 * for a dozen lines run only when the store is opened or repaired.
 */
const TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

export function crc32c (bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (let i = 0; i < bytes.length; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

/** LevelDB stores a masked CRC (util/crc32c.h), so that a CRC of data holding CRCs stays well mixed. */
export function unmaskCrc (masked: number): number {
  const rot = (masked - 0xa282ead8) >>> 0
  return ((rot >>> 17) | (rot << 15)) >>> 0
}
