import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LowbandClient } from '../../clients/sdk/index.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'

/** Debian's chromium, installed by scripts/services.sh (`npm test`); the test skips without it. */
const CHROMIUM = process.env.LOWBAND_TEST_CHROMIUM ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined)
/** Set to a path to save a screenshot of the page (docs/web-chat.png is made this way). */
const SCREENSHOT = process.env.LOWBAND_WEB_SCREENSHOT

describe.skipIf(CHROMIUM === undefined)('the web chat page in Chromium (skipped: no chromium; npm test installs Debian\'s)', () => {
  let broker: TestBroker
  let browser: Browser
  let page: string
  const contexts: Record<string, BrowserContext> = {}

  beforeAll(async () => {
    broker = await startTestBroker()
    page = `http://127.0.0.1:${broker.ports.http}/`
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox'] })
  })
  afterAll(async () => {
    await browser?.close()
    await broker?.close()
  })

  /** A user's browser (its own localStorage) and the page logged in with a pasted token. */
  async function logIn (user: string): Promise<Page> {
    contexts[user] = await browser.newContext({ viewport: { width: 900, height: 560 } })
    const tab = await contexts[user].newPage()
    await tab.goto(page)
    await tab.fill('#token', await broker.token(user))
    await tab.click('#login button[type=submit]')
    await tab.locator('#connection.connected').waitFor()
    return tab
  }

  /** The page again in the same browser: it logs in by itself with the token it kept, and resumes. */
  async function reopen (user: string): Promise<Page> {
    const tab = await contexts[user]!.newPage()
    await tab.goto(page)
    await tab.locator('#connection.connected').waitFor()
    return tab
  }

  const message = (tab: Page, text: string) => tab.locator('#messages li', { hasText: text })

  it('chats: ✓ while away, ✓✓ on catching up, read, typing, presence; a group\'s history on scroll', async () => {
    const alice = await logIn('alice')
    let bob = await logIn('bob')

    // Alice opens the chat with bob: his presence shows.
    await alice.fill('#peer', 'bob')
    await alice.click('#open-chat button')
    await alice.locator('#presence.online').waitFor()

    // Bob goes away; alice's message is stored (✓) and waits for him.
    await bob.close()
    await alice.locator('#presence', { hasText: 'last seen' }).waitFor()
    await alice.fill('#text', 'are you there?')
    await alice.press('#text', 'Enter')
    await expect.poll(() => message(alice, 'are you there?').getAttribute('data-status')).toBe('sent')

    // Bob comes back: the page resumes, alice's message is delivered (✓✓) and unread on his side.
    bob = await reopen('bob')
    await expect.poll(() => message(alice, 'are you there?').getAttribute('data-status')).toBe('delivered')
    await expect.poll(() => bob.locator('[data-conversation="u:alice"] .unread').textContent()).toBe('1')

    // Bob opens the chat: he reads it, alice sees it read.
    await bob.click('[data-conversation="u:alice"]')
    await message(bob, 'are you there?').waitFor()
    await expect.poll(() => message(alice, 'are you there?').getAttribute('data-status')).toBe('read')

    // Bob types, alice sees it; his answer arrives and ends the typing.
    await bob.locator('#text').pressSequentially('yes')
    await alice.locator('#typing', { hasText: 'bob is typing' }).waitFor()
    await bob.press('#text', 'Enter')
    await message(alice, 'yes').waitFor()
    await expect.poll(() => alice.locator('#typing').textContent()).toBe('')
    await expect.poll(() => message(bob, 'yes').getAttribute('data-status')).toBe('read')
    if (SCREENSHOT !== undefined) {
      await alice.fill('#text', 'see you at the trailhead')
      await alice.press('#text', 'Enter')
      await bob.locator('#text').pressSequentially('on my way')
      await alice.locator('#typing', { hasText: 'bob is typing' }).waitFor()
      await alice.screenshot({ path: SCREENSHOT })
    }

    // A group with more messages than one history page: they arrive live, then the page is
    // reloaded (what it showed is gone, its cursor kept): opening the group shows the newest page
    // from history, scrolling to the top loads the older ones.
    const carol = new LowbandClient({ url: broker.url, userId: 'carol', deviceId: 'phone', token: await broker.token('carol') })
    await carol.connect()
    const group = await carol.createGroup('Hikers', ['alice'])
    for (let n = 1; n <= 40; n++) await carol.sendToGroup(group.id, `hike ${n}`)
    await carol.close()
    await expect.poll(() => alice.locator(`[data-conversation="g:${group.id}"] .unread`).textContent()).toBe('40')
    await alice.reload()
    await alice.click(`[data-conversation="g:${group.id}"]`)
    await message(alice, 'hike 40').waitFor()
    const hikes = alice.locator('#messages li', { hasText: /^carolhike \d+/ })
    expect(await hikes.count()).toBeLessThan(40)
    await alice.locator('#messages').evaluate((list) => { list.scrollTop = 0 })
    await expect.poll(() => hikes.count()).toBe(40)
  }, 60_000)
})
