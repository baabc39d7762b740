import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const SERVICES = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url))

export interface Services {
  redisUrl: string
  postgresUrl: string
  stop (): Promise<void>
}

/**
 * Redis and PostgreSQL for the cluster sections, started by scripts/services.sh as the tests start
 * them (or the ones LOWBAND_TEST_REDIS_URL / LOWBAND_TEST_POSTGRES_URL name). The shell stays alive
 * until stop() closes its stdin; its EXIT trap then stops what it started.
 */
export async function startServices (): Promise<Services> {
  const shell = spawn('bash', ['-c', `source "${SERVICES}" && trap services_down EXIT && services_up && echo "urls $LOWBAND_TEST_REDIS_URL $LOWBAND_TEST_POSTGRES_URL" && read -r _`],
    { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: shell.stdout })
  for await (const line of lines) {
    if (!line.startsWith('urls ')) continue
    const [, redisUrl, postgresUrl] = line.split(' ')
    if (redisUrl === undefined || redisUrl === '' || postgresUrl === undefined || postgresUrl === '') {
      shell.stdin.end()
      throw new Error('scripts/services.sh could not start Redis and PostgreSQL (see its lines above)')
    }
    return {
      redisUrl,
      postgresUrl,
      async stop () {
        const exited = once(shell, 'exit')
        shell.stdin.end()
        await exited
      }
    }
  }
  throw new Error('scripts/services.sh ended before it started the services')
}
