import { pino, type Logger } from 'pino'

/** JSON logs on stdout (pino). The token is never logged: no hook passes it to a log call. */
export function createLogger (level: string): Logger {
  return pino({ level, base: { service: 'lowband' } })
}
