/**
 * The one catalog of error codes. The broker sends the numeric code on the wire (on the sender's
 * own `u/<self>/e` topic); the SDK and CLI raise {@link LowbandError} carrying the same code and
 * name. Codes are stable: never renumber, only add. Every code is documented in docs/PROTOCOL.md
 * (a test checks that).
 */
export const ERROR_CODES = {
  BAD_ENCODING: { code: 1, message: 'payload is not a single well-formed CBOR item' },
  BAD_ENVELOPE: { code: 2, message: 'payload does not match the schema of its topic' },
  TOO_LARGE: { code: 3, message: 'payload is larger than the broker accepts' },
  UNKNOWN_RECIPIENT: { code: 4, message: 'no such user' },
  FORBIDDEN_TOPIC: { code: 5, message: 'this connection may not publish to that topic' },
  RATE_LIMITED: { code: 6, message: 'too many publishes; slow down' },
  STORE_FAILED: { code: 7, message: 'the message could not be stored; send it again' },
  UNKNOWN_COMMAND: { code: 8, message: 'no such command topic' },
  NOT_MEMBER: { code: 9, message: 'not a member of that group' },
  NOT_ADMIN: { code: 10, message: 'only a group admin may do that' },
  ALREADY_MEMBER: { code: 11, message: 'already a member of that group' },
  GROUP_FULL: { code: 12, message: 'the group would exceed its size limit' },
  UNKNOWN_GROUP: { code: 13, message: 'no such group' },
  PUSH_TOKEN_INVALID: { code: 30, message: 'not a push token: 1-2048 printable ASCII characters without spaces' },
  MEDIA_NOT_CONFIGURED: { code: 40, message: 'media is not configured on this broker (no object storage bucket)' },
  STORAGE_UNAVAILABLE: { code: 41, message: 'object storage is unavailable; try again later' },
  MEDIA_MISSING: { code: 42, message: 'no such media: upload it first, with the size and type declared' },
  MEDIA_TYPE_REFUSED: { code: 43, message: 'this media type is not accepted' },
  MEDIA_CORRUPT: { code: 44, message: 'the downloaded media does not match its sha256; it was discarded' },
  FORBIDDEN_KIND: { code: 14, message: 'only the broker sends messages of a system kind' },
  // 25–29: what a store refuses for good (issue 12).
  STORE_REFUSED: { code: 25, message: 'the store refuses a value of this for good (a character it cannot keep, too long, or out of range); sending it again will not help' },
  // 50–54: bytes and receipts (issue 18).
  CLIENT_MSG_ID_REUSED: { code: 50, message: 'this device already sent a different message with that client message id; send it again under a new id' },
  // 60–69: end-to-end encryption (key directory, encrypted bodies).
  E2E_REQUIRED: { code: 60, message: 'this broker accepts only end-to-end encrypted bodies' },
  DEVICES_CHANGED: { code: 61, message: 'the copies do not match the devices with keys; fetch their keys and send again' },
  BAD_KEYS: { code: 62, message: 'the keys or the encrypted body are malformed' },
  NO_KEYS: { code: 63, message: 'that user has no device with keys' },
  UNDECRYPTABLE: { code: 64, message: 'this device could not decrypt the message; a resend over a new session was requested' }
} as const

export type ErrorName = keyof typeof ERROR_CODES
export type ErrorCode = (typeof ERROR_CODES)[ErrorName]['code']

const BY_CODE = new Map<number, ErrorName>(
  (Object.keys(ERROR_CODES) as ErrorName[]).map((name) => [ERROR_CODES[name].code, name])
)

export function errorName (code: number): ErrorName | undefined {
  return BY_CODE.get(code)
}

/** A coded error, on the broker or in the SDK. `detail` is for humans; the code is for programs. */
export class LowbandError extends Error {
  readonly code: ErrorCode
  readonly errorName: ErrorName

  constructor (name: ErrorName, detail?: string, options?: { cause?: unknown }) {
    super(detail === undefined ? ERROR_CODES[name].message : `${ERROR_CODES[name].message}: ${detail}`, options)
    this.name = 'LowbandError'
    this.errorName = name
    this.code = ERROR_CODES[name].code
  }
}
