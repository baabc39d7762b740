import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** `<dataDir>/lowband.pid`: written once the store's lock is held, to say who holds it. */
const PID_FILE = 'lowband.pid'

/** Writes this process's pid; the returned function removes it again (if it is still ours). */
export async function writePidFile (dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, PID_FILE)
  await writeFile(file, `${process.pid}\n`)
  return async () => {
    if (await pidIn(dataDir) === process.pid) await rm(file, { force: true })
  }
}

/** The one line for a data directory whose store another process holds open. */
export async function inUseMessage (dataDir: string): Promise<string> {
  const pid = await pidIn(dataDir)
  const holder = pid === undefined ? 'another process' : `another lowband process (pid ${pid})`
  return `--data-dir ${dataDir} (LOWBAND_DATA_DIR) is in use by ${holder}: stop it first, or give another data directory`
}

async function pidIn (dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(join(dataDir, PID_FILE), 'utf8')).trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}
