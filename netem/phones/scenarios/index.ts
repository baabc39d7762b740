import type { ScenarioName } from '../../run/types.js'
import type { ScenarioContext } from '../context.js'
import { burst } from './burst.js'
import { flap } from './flap.js'
import { group } from './group.js'
import { media } from './media.js'
import { resume } from './resume.js'
import { typing } from './typing.js'

/** The scenario scripts, by name; each runs inside the client namespace with its phones. */
export const SCENARIO_SCRIPTS: Readonly<Record<ScenarioName, (ctx: ScenarioContext) => Promise<void>>> = {
  burst,
  group,
  resume,
  flap,
  typing,
  media
}
