/** Resolves with the first value `on` reports that satisfies `accept` (no sleeping, no polling). */
export function next<T> (on: (handler: (value: T) => void) => () => void, accept: (value: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const off = on((value) => {
      if (!accept(value)) return
      off()
      resolve(value)
    })
  })
}

/** Collects what `on` reports and resolves once `count` values arrived. */
export function collect<T> (on: (handler: (value: T) => void) => () => void, count: number): { values: T[], done: Promise<T[]> } {
  const values: T[] = []
  const done = new Promise<T[]>((resolve) => {
    const off = on((value) => {
      values.push(value)
      if (values.length === count) {
        off()
        resolve(values)
      }
    })
  })
  return { values, done }
}
