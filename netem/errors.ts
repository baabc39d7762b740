/**
 * A failure the user can act on (not root, kernel lacks a feature, a tool is
 * missing). The CLI prints its message as one line, without a stack.
 */
export class NetemError extends Error {
  override readonly name = 'NetemError'
}

/** Bad input on the command line (an unknown profile or scenario, a missing --profile): exit 2. */
export class NetemUsageError extends NetemError {}
