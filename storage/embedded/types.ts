export type { ReceiptEntry, StoredMessage, StoredReceipt } from '../contracts.js'
export type UserIdSeqs = Record<string, number>
