/**
 * `target`, its methods passing every failure — thrown or rejected — through `classify` (an
 * adapter's: it turns the backend's errors into health changes and RetriableErrors). The wrappers are
 * made once; each call costs one closure call, plus one `catch` for a promise.
 */
export function guarded<T extends object> (target: T, classify: (error: unknown) => unknown): T {
  const wrapper = Object.create(target) as Record<string, unknown>
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(target))) {
    const method = (target as Record<string, unknown>)[name]
    if (name === 'constructor' || typeof method !== 'function') continue
    const rethrow = (error: unknown): never => { throw classify(error) }
    wrapper[name] = (...args: unknown[]): unknown => {
      let result: unknown
      try {
        result = method.apply(target, args)
      } catch (error) {
        rethrow(error)
      }
      return result instanceof Promise ? result.catch(rethrow) : result
    }
  }
  return wrapper as T
}
