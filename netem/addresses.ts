/*
 * Addressing inside a link's namespaces. Every link has its own pair of
 * namespaces, so every link can use the same addresses without clashing, and
 * nothing here is routable from (or to) the host's own network.
 */

/** The interface carrying the emulated link, in both namespaces. */
export const LINK_DEVICE = 'lbwan'
export const SERVER_ADDR = '10.201.0.1'
export const CLIENT_ADDR = '10.201.0.2'
export const LINK_PREFIX = 30
