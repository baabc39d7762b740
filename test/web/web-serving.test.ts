import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../broker/config.js'
import { webRoot } from '../../broker/web.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'

describe('the web chat page on the HTTP port', () => {
  let broker: TestBroker | undefined
  afterEach(async () => { await broker?.close(); broker = undefined })

  it('is served at / with the WebSocket port written in, and its bundle', async () => {
    expect(webRoot(), 'dist/web: npm run build makes it').toBeDefined()
    broker = await startTestBroker()
    const base = `http://127.0.0.1:${broker.ports.http}/`
    const page = await fetch(base)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await page.text()).toContain(`<meta name="lowband-ws-port" content="${broker.ports.ws}">`)
    const script = await fetch(`${base}app.js`)
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await script.text()).toContain('lowband.cursor.')
    expect((await fetch(`${base}style.css`)).status).toBe(200)
    expect((await fetch(`${base}../package.json`)).status).toBe(404)
    expect((await fetch(`${base}healthz`)).status).toBe(200)
  })

  it('is off with --no-web (or LOWBAND_WEB=false): / is 404, health and metrics stay', async () => {
    broker = await startTestBroker({ web: false })
    const base = `http://127.0.0.1:${broker.ports.http}/`
    expect((await fetch(base)).status).toBe(404)
    expect((await fetch(`${base}app.js`)).status).toBe(404)
    expect((await fetch(`${base}healthz`)).status).toBe(200)
    expect(loadConfig({}, { LOWBAND_WEB: 'false' }).web).toBe(false)
    expect(loadConfig({}, {}).web).toBe(true)
  })
})
