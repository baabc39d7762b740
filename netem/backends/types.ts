/** How the link is emulated: the kernel's sch_netem, or the userspace linkemu fallback. */
export type LinkMode = 'netem' | 'linkemu'

/**
 * Traffic of one direction, counted at the emulated link. Bytes are IP bytes
 * (no link-layer header), the same in both modes.
 */
export interface DirectionCounters {
  /** Packets that crossed the link. */
  packets: number
  /** IP bytes that crossed the link: "bytes on the wire". */
  bytes: number
  /** Packets the link dropped, for any reason. */
  dropped: number
  /** Packets and bytes handed to the link, delivered or not (null: netem mode cannot tell). */
  offeredPackets: number | null
  offeredBytes: number | null
  /** Drop reasons (null: netem mode reports one total). */
  lost: number | null
  queueDropped: number | null
  outageDropped: number | null
}

export interface LinkCounters {
  /** Server -> phone. */
  down: DirectionCounters
  /** Phone -> server. */
  up: DirectionCounters
}

/** What a mode implements; link.ts builds everything else on top. */
export interface LinkBackend {
  readonly mode: LinkMode
  counters(): Promise<LinkCounters>
  /** false drops every packet in both directions until called with true. */
  setLinkUp(up: boolean): Promise<void>
  /** Stops emulating; resolves with the final counters. Namespaces are removed by the caller. */
  close(): Promise<LinkCounters>
  /** Best-effort synchronous stop for exit handlers. */
  closeSync(): void
}
