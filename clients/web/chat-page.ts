import type { ChatMessage, Conversation, LowbandClient, MessageStatus, Presence, Status, TypingChange } from 'lowband/sdk'
import { conversationKey, Thread } from './thread.js'

const HISTORY_PAGE = 30 // messages per history request
const TICKS: Readonly<Record<MessageStatus, string>> = { sent: '✓', delivered: '✓✓', read: '✓✓' }

function element<T extends HTMLElement> (id: string): T {
  const found = document.getElementById(id)
  if (found === null) throw new Error(`the page has no #${id}`)
  return found as T
}

/** The chat screen: conversations on the left, the open one on the right, all driven by one client. */
export class ChatPage {
  readonly #client: LowbandClient
  readonly #threads = new Map<string, Thread>()
  readonly #unread = new Map<string, number>()
  #open: Thread | undefined
  #nextPending = 0
  #loadingOlder = false

  readonly #conversations = element<HTMLUListElement>('conversations')
  readonly #messages = element<HTMLOListElement>('messages')
  readonly #title = element('title')
  readonly #presence = element('presence')
  readonly #typing = element('typing')
  readonly #compose = element<HTMLFormElement>('compose')
  readonly #text = element<HTMLInputElement>('text')
  readonly #connection = element('connection')

  constructor (client: LowbandClient) {
    this.#client = client
    const me = element('me')
    me.textContent = client.userId
    me.title = `device ${client.deviceId}`
    client.onStatus((status) => this.#showStatus(status))
    client.onMessage((message) => this.#received(message))
    client.onMessageStatus((change) => {
      this.#thread(change.conversation).setStatus(change.cseq, change.status)
      if (this.#open === this.#threads.get(conversationKey(change.conversation))) this.#render()
    })
    client.onUnread((change) => { this.#unread.set(conversationKey(change.conversation), change.count); this.#renderConversations() })
    client.onTyping((change) => this.#typed(change))
    client.onPresence((presence) => this.#presenceChanged(presence))
    client.onSynced(() => { void this.#loadGroups() })

    element<HTMLFormElement>('open-chat').addEventListener('submit', (event) => {
      event.preventDefault()
      const peer = element<HTMLInputElement>('peer')
      void this.open({ user: peer.value.trim() })
      peer.value = ''
    })
    this.#compose.addEventListener('submit', (event) => { event.preventDefault(); this.#send() })
    this.#text.addEventListener('input', () => { if (this.#open !== undefined && this.#text.value !== '') this.#client.typing(this.#open.conversation) })
    this.#messages.addEventListener('scroll', () => { if (this.#messages.scrollTop === 0) void this.#loadOlder() })
    document.addEventListener('visibilitychange', () => this.#markRead())
  }

  /** Opens a conversation: its newest history page, its presence (1:1), read up to its newest message. */
  async open (conversation: Conversation): Promise<void> {
    const thread = this.#thread(conversation)
    if (this.#open !== undefined && 'user' in this.#open.conversation) this.#client.unwatch(this.#open.conversation.user)
    this.#open = thread
    this.#title.textContent = thread.title
    this.#presence.textContent = ''
    this.#presence.className = 'presence'
    this.#compose.hidden = false
    this.#showTyping()
    if ('user' in conversation) this.#client.watch(conversation.user)
    this.#render(true)
    this.#text.focus()
    if (!thread.loaded) {
      const page = await this.#client.history(conversation, undefined, HISTORY_PAGE)
      for (const entry of page.items) thread.add(entry)
      thread.loaded = true
      thread.more = page.more
      if (this.#open === thread) this.#render(true)
    }
    this.#markRead()
  }

  #thread (conversation: Conversation): Thread {
    const key = conversationKey(conversation)
    let thread = this.#threads.get(key)
    if (thread === undefined) {
      thread = new Thread(conversation)
      this.#threads.set(key, thread)
      this.#renderConversations()
    }
    return thread
  }

  #received (message: ChatMessage): void {
    const thread = this.#thread(message.conversation)
    thread.add(message)
    if (thread === this.#open) {
      this.#showTyping()
      this.#render(this.#atBottom())
      this.#markRead()
    }
  }

  #send (): void {
    const thread = this.#open
    const text = this.#text.value
    if (thread === undefined || text === '') return
    this.#text.value = ''
    const pending = { key: this.#nextPending++, text }
    thread.pending.push(pending)
    this.#render(true)
    const conversation = thread.conversation
    const sent = 'group' in conversation ? this.#client.sendToGroup(conversation.group, text) : this.#client.send(conversation.user, text)
    sent.then((result) => {
      thread.pending.splice(thread.pending.indexOf(pending), 1)
      thread.add({ id: result.id, from: this.#client.userId, body: text, text, kind: 0, cseq: result.cseq, ts: result.ts, status: 'sent', own: true })
      if (thread === this.#open) this.#render(true)
    }, (error: Error) => {
      thread.pending.splice(thread.pending.indexOf(pending), 1)
      this.#typing.textContent = `not sent: ${error.message}`
      if (thread === this.#open) this.#render()
    })
  }

  /** Older history when scrolled to the top, keeping the view where the reader was. */
  async #loadOlder (): Promise<void> {
    const thread = this.#open
    if (thread === undefined || !thread.more || this.#loadingOlder) return
    this.#loadingOlder = true
    try {
      const page = await this.#client.history(thread.conversation, thread.oldest, HISTORY_PAGE)
      for (const entry of page.items) thread.add(entry)
      thread.more = page.more
      if (thread !== this.#open) return
      const fromBottom = this.#messages.scrollHeight - this.#messages.scrollTop
      this.#render()
      this.#messages.scrollTop = this.#messages.scrollHeight - fromBottom
    } finally {
      this.#loadingOlder = false
    }
  }

  /** Read while the page is visible: one watermark for the whole conversation. */
  #markRead (): void {
    const thread = this.#open
    if (thread === undefined || document.visibilityState !== 'visible') return
    const newest = thread.newestFromOthers
    if (newest > 0) this.#client.markRead(thread.conversation, newest)
  }

  async #loadGroups (): Promise<void> {
    try {
      for (const group of await this.#client.listGroups()) this.#thread({ group: group.id })
    } catch {
      // Offline again: the next sync asks again.
    }
  }

  #typed (change: TypingChange): void {
    if (this.#open !== undefined && conversationKey(change.conversation) === conversationKey(this.#open.conversation)) this.#showTyping()
  }

  #showTyping (): void {
    const typists = this.#open === undefined ? [] : this.#client.typingIn(this.#open.conversation)
    this.#typing.textContent = typists.length === 0 ? '' : `${typists.join(', ')} ${typists.length === 1 ? 'is' : 'are'} typing…`
  }

  #presenceChanged (presence: Presence): void {
    if (this.#open === undefined || !('user' in this.#open.conversation) || this.#open.conversation.user !== presence.contact) return
    this.#presence.className = presence.online ? 'presence online' : 'presence'
    this.#presence.textContent = presence.online ? 'online' : presence.lastSeen === undefined ? 'offline' : `last seen ${new Date(presence.lastSeen * 1000).toLocaleString()}`
  }

  #showStatus (status: Status): void {
    this.#connection.textContent = status.type
    this.#connection.className = `connection ${status.type}`
  }

  #atBottom (): boolean {
    return this.#messages.scrollHeight - this.#messages.scrollTop - this.#messages.clientHeight < 40
  }

  #renderConversations (): void {
    this.#conversations.replaceChildren(...[...this.#threads.entries()].map(([key, thread]) => {
      const item = document.createElement('li')
      item.dataset.conversation = key
      item.classList.toggle('open', thread === this.#open)
      item.append(thread.title)
      const unread = this.#unread.get(key) ?? 0
      if (unread > 0) item.append(Object.assign(document.createElement('span'), { className: 'unread', textContent: String(unread) }))
      item.addEventListener('click', () => { void this.open(thread.conversation) })
      return item
    }))
  }

  #render (scrollToEnd = false): void {
    const thread = this.#open
    this.#renderConversations()
    if (thread === undefined) return
    const group = 'group' in thread.conversation
    const items = thread.sorted().map((line) => {
      const item = document.createElement('li')
      item.dataset.cseq = String(line.cseq)
      item.className = line.system ? 'system' : line.own ? 'own' : 'other'
      if (group && !line.own && !line.system) item.append(Object.assign(document.createElement('span'), { className: 'from', textContent: line.from }))
      item.append(Object.assign(document.createElement('span'), { className: 'text', textContent: line.text }))
      const meta = Object.assign(document.createElement('span'), { className: 'meta', textContent: new Date(line.ts * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) })
      const status = line.own && !line.system ? thread.status(line.cseq) : undefined
      if (status !== undefined) {
        item.dataset.status = status
        meta.append(' ', Object.assign(document.createElement('span'), { className: `tick ${status}`, textContent: TICKS[status], title: status }))
      }
      item.append(meta)
      return item
    })
    for (const pending of thread.pending) {
      const item = Object.assign(document.createElement('li'), { className: 'own pending' })
      item.dataset.status = 'pending'
      item.append(Object.assign(document.createElement('span'), { className: 'text', textContent: pending.text }), Object.assign(document.createElement('span'), { className: 'meta', textContent: '…' }))
      items.push(item)
    }
    this.#messages.replaceChildren(...items)
    if (scrollToEnd) this.#messages.scrollTop = this.#messages.scrollHeight
  }
}
