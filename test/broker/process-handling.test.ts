import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { SECRET } from '../helpers/broker.js'
import { runCli, spawnBroker } from '../helpers/process.js'
import { tempDirs } from '../helpers/temp-dirs.js'

const tempDir = tempDirs('lowband-proc2-')
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('the broker process and its data directory', { timeout: 60_000 }, () => {
  it('a second broker, or a repair, on a data dir in use says by whom, exit 2', async () => {
    const dataDir = await tempDir()
    const first = await spawnBroker(['--data-dir', dataDir, '--jwt-secret', SECRET])
    try {
      expect(Number(await readFile(join(dataDir, 'lowband.pid'), 'utf8'))).toBe(first.child.pid)
      for (const args of [['start', '--host', '127.0.0.1', '--port', '0', '--ws-port', '0', '--http-port', '0', '--jwt-secret', SECRET], ['repair']]) {
        const { code, stderr } = await runCli([...args, '--data-dir', dataDir])
        expect(code, args[0]).toBe(2)
        expect(stderr.trim().split('\n'), args[0]).toHaveLength(1)
        expect(stderr, args[0]).toContain(`--data-dir ${dataDir} (LOWBAND_DATA_DIR) is in use by another lowband process (pid ${first.child.pid})`)
      }
    } finally {
      first.child.kill('SIGTERM')
    }
    expect(await first.exited).toBe(0)
    await expect(readFile(join(dataDir, 'lowband.pid'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('stopping `npm start` by its pid stops the broker, through its drain', async () => {
    const dataDir = await tempDir()
    // --ignore-scripts skips prestart's build (the test run has built dist/) but runs `start` itself.
    const npm = spawn('npm', ['start', '--ignore-scripts'], {
      cwd: ROOT,
      env: { ...process.env, LOWBAND_DATA_DIR: dataDir, LOWBAND_HOST: '127.0.0.1', LOWBAND_PORT: '0', LOWBAND_WS_PORT: '0', LOWBAND_HTTP_PORT: '0', LOWBAND_JWT_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    npm.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    npm.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const npmExited = new Promise<void>((resolve) => npm.once('exit', () => resolve()))
    for (let i = 0; i < 300 && !output.includes('"lowband ready"'); i++) await new Promise((resolve) => setTimeout(resolve, 100))
    expect(output).toContain('"lowband ready"')
    const broker = Number(await readFile(join(dataDir, 'lowband.pid'), 'utf8'))
    try {
      expect(broker).not.toBe(npm.pid)
      expect(alive(broker)).toBe(true)
      npm.kill('SIGTERM')
      await npmExited
      for (let i = 0; i < 100 && alive(broker); i++) await new Promise((resolve) => setTimeout(resolve, 100))
      expect(alive(broker)).toBe(false)
    } finally {
      // Without the fix the broker outlives npm: do not leave it serving.
      if (alive(broker)) process.kill(broker, 'SIGKILL')
    }
    // "lowband stopped" is logged by the drain just before exit(0).
    expect(output).toContain('"signal":"SIGTERM","msg":"stopping"')
    expect(output).toContain('"lowband stopped"')
  })
})
