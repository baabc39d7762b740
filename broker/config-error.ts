/** A problem with the operator's input: printed as one line, exit code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}
