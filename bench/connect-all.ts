/** Runs `connect` for every item with at most `concurrency` under way (a burst of SYNs overflows the listen backlog), in input order. */
export async function connectAll<T, C> (items: readonly T[], concurrency: number, connect: (item: T, index: number) => Promise<C>): Promise<C[]> {
  const results: C[] = new Array<C>(items.length)
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      results[index] = await connect(items[index]!, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane))
  return results
}
