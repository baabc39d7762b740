/**
 * The phone side of a scenario run. The runner starts this process inside the
 * link's client namespace (`ip netns exec <clientNs> node dist/netem/phones/main.js`),
 * so every simulated phone's traffic crosses the emulated link. It reads its
 * PhoneConfig from stdin, runs the scenario, and writes one result line to stdout.
 */
import { RunnerControl } from './control.js'
import { ScenarioContext } from './context.js'
import { Recorder } from './recorder.js'
import { SCENARIO_SCRIPTS } from './scenarios/index.js'

const control = new RunnerControl()
const config = await control.config()
const recorder = new Recorder(config.plan.bodyChars, (delivered, expected, phase) => control.progress(delivered, expected, phase))
const ctx = new ScenarioContext(config, control, recorder)
let status = 0
try {
  await SCENARIO_SCRIPTS[config.plan.scenario](ctx)
  control.result(ctx.report())
} catch (error) {
  control.failed(error instanceof Error ? (error.stack ?? error.message) : String(error))
  status = 1
} finally {
  await ctx.closeAll()
}
// Exit once the result line is flushed: a client timer must not keep the process (and the run) waiting.
process.stdout.write('', () => process.exit(status))
