import { FCM_ANSWERS, FcmEndpoint, type TestCa } from './fcm-endpoint.js'
import { serve, type WorkerMessage } from './ipc.js'

/**
 * The local FCM endpoint in a process of its own, for the push section's load runs: there it takes
 * a thousand sends in a second, and serving them (TLS, HTTP, JSON) in the bench's own process held
 * up the event loop that times the senders' PUBACKs — a delay of the measurement, not of lowband.
 * (The send → push run keeps the endpoint in the bench process: it times arrivals on the PUBACKs' clock.)
 */
export type StandInRequest =
  | { type: 'start', ca: TestCa, projectId: string }
  | { type: 'answer', hang: boolean }
  | { type: 'count', reset: boolean }

let endpoint: FcmEndpoint | undefined
let projectId = ''

serve(async (message: WorkerMessage) => {
  const request = message as StandInRequest
  switch (request.type) {
    case 'start':
      projectId = request.projectId
      endpoint = await FcmEndpoint.start(request.ca, projectId)
      return { type: 'started', port: endpoint.port }
    case 'answer':
      endpoint!.answer = request.hang ? () => 'hang' : () => FCM_ANSWERS.ok(projectId)
      return { type: 'answered' }
    case 'count': {
      const requests = endpoint!.requests.length
      if (request.reset) endpoint!.requests.length = 0
      return { type: 'counted', requests }
    }
  }
})
