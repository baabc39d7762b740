import { LowbandClient } from 'lowband/sdk'
import { ChatPage } from './chat-page.js'

/**
 * The web chat page: log in with a device token pasted from `lowband token <user>` (the page mints
 * none), then chat through the SDK over MQTT on WebSocket. The token, the device id and the inbox
 * cursor live in localStorage, so a reload resumes where the page was.
 */

const SAVED_TOKEN = 'lowband.token'
const SAVED_BROKER = 'lowband.broker'

interface TokenClaims { sub: string, dev?: string }

/** The user (and a bound device) from the token's payload; the broker verifies the signature. */
function claimsOf (token: string): TokenClaims {
  const payload = token.split('.')[1]
  if (payload === undefined) throw new Error('not a token: expected three dot-separated parts')
  const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as Partial<TokenClaims>
  if (typeof claims.sub !== 'string') throw new Error('the token names no user (sub)')
  return { sub: claims.sub, ...(typeof claims.dev === 'string' ? { dev: claims.dev } : {}) }
}

/** This browser's device id for a user: the token's, else one made once and kept. */
function deviceFor (claims: TokenClaims): string {
  if (claims.dev !== undefined) return claims.dev
  const key = `lowband.device.${claims.sub}`
  let device = localStorage.getItem(key)
  if (device === null) {
    device = `web-${Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, '0')).join('')}`
    localStorage.setItem(key, device)
  }
  return device
}

/** MQTT over WebSocket on the broker's WebSocket port (the server writes it into the page). */
function defaultBroker (): string {
  const port = document.querySelector<HTMLMetaElement>('meta[name="lowband-ws-port"]')?.content || '8080'
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.hostname}:${port}/mqtt`
}

async function logIn (token: string, url: string): Promise<void> {
  const claims = claimsOf(token)
  const deviceId = deviceFor(claims)
  const cursorKey = `lowband.cursor.${claims.sub}/${deviceId}`
  const client = new LowbandClient({ url, userId: claims.sub, deviceId, token, cursor: Number(localStorage.getItem(cursorKey) ?? 0) })
  client.onCursor((cursor) => localStorage.setItem(cursorKey, String(cursor)))
  const page = new ChatPage(client)
  await client.connect({ retry: true })
  localStorage.setItem(SAVED_TOKEN, token)
  localStorage.setItem(SAVED_BROKER, url)
  document.getElementById('login')!.hidden = true
  document.getElementById('chat')!.hidden = false
  document.getElementById('logout')!.addEventListener('click', () => {
    localStorage.removeItem(SAVED_TOKEN)
    void client.close().then(() => location.reload())
  })
  const wanted = new URLSearchParams(location.hash.slice(1))
  const user = wanted.get('user')
  const group = wanted.get('group')
  if (group !== null) await page.open({ group })
  else if (user !== null) await page.open({ user })
}

const form = document.getElementById('login') as HTMLFormElement
const tokenField = document.getElementById('token') as HTMLTextAreaElement
const brokerField = document.getElementById('broker') as HTMLInputElement
const loginError = document.getElementById('login-error')!
brokerField.value = localStorage.getItem(SAVED_BROKER) ?? defaultBroker()
form.addEventListener('submit', (event) => {
  event.preventDefault()
  loginError.textContent = ''
  logIn(tokenField.value.trim(), brokerField.value.trim()).catch((error: Error) => { loginError.textContent = error.message })
})
const saved = localStorage.getItem(SAVED_TOKEN)
if (saved !== null) {
  tokenField.value = saved
  form.requestSubmit()
}
