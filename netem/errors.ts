/**
 * A failure the user can act on (not root, kernel lacks a feature, a tool is
 * missing). The CLI prints its message as one line, without a stack.
 */
export class NetemError extends Error {
  override readonly name = 'NetemError'
}
