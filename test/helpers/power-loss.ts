import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * Why the disk cannot do this test, or null when it can: it needs root for loop devices and
 * mounts, and e2fsprogs' mkfs.ext4.
 */
export async function powerLossUnavailable (): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (loop devices and mounts)'
  for (const tool of ['losetup', 'mkfs.ext4', 'mount', 'umount']) {
    try {
      await run('sh', ['-c', `command -v ${tool}`])
    } catch {
      return `${tool} is not installed`
    }
  }
  return null
}

/** An ext4 file system the test may cut the power of. */
export interface PowerLossDisk {
  /** Where the file system is mounted. */
  readonly root: string
  /**
   * Simulates a power cut now: copies the loop device's backing file — which holds exactly what
   * the file system has written to its "disk", and none of the dirty pages still in the page
   * cache — and mounts the copy (ext4 replays its journal, as after a reboot). The running
   * processes keep using the original; the returned directory is the disk after the reboot.
   */
  powerCut (): Promise<string>
  close (): Promise<void>
}

/**
 * A file-backed ext4 disk on a loop device. The page cache survives a process kill, so a SIGKILL
 * test cannot tell a synced write from an unsynced one; a copy of the backing file can, since
 * only what was written back (fsync, or the kernel's writeback after `commit=` and
 * dirty_expire) is in it. The mount's long commit interval keeps ext4 from writing data back by
 * itself during a test of a few seconds.
 */
export async function createPowerLossDisk (sizeMiB = 256): Promise<PowerLossDisk> {
  const dir = await mkdtemp(join(tmpdir(), 'lowband-power-'))
  const image = join(dir, 'disk.img')
  const root = join(dir, 'mnt')
  const rebooted = join(dir, 'after')
  await mkdir(root)
  await mkdir(rebooted)
  await run('truncate', ['-s', `${sizeMiB}M`, image])
  await run('mkfs.ext4', ['-q', '-F', image])
  const loop = (await run('losetup', ['-f', '--show', image])).stdout.trim()
  await run('mount', ['-o', 'commit=600', loop, root])
  const mounted: string[] = [root]
  const loops: string[] = [loop]
  return {
    root,
    async powerCut () {
      const copy = join(dir, 'after.img')
      await run('cp', ['--sparse=always', image, copy])
      const copyLoop = (await run('losetup', ['-f', '--show', copy])).stdout.trim()
      loops.push(copyLoop)
      await run('mount', [copyLoop, rebooted])
      mounted.push(rebooted)
      return rebooted
    },
    async close () {
      for (const point of mounted.reverse()) await run('umount', [point]).catch(() => run('umount', ['-l', point]))
      for (const device of loops) await run('losetup', ['-d', device]).catch(() => undefined)
      await rm(dir, { recursive: true, force: true })
    }
  }
}
