import { readFile } from 'node:fs/promises'
import { PROFILES } from './catalog.js'
import { parseProfile, type DirectionSpec, type Profile } from './schema.js'

export type { DirectionSpec, OutageSchedule, Profile, ProfileSource } from './schema.js'
export { parseProfile } from './schema.js'

// Validate the catalogue once at load: a typo in the data fails loudly here, not mid-scenario.
const catalogue: ReadonlyMap<string, Profile> = new Map(PROFILES.map((p) => [p.id, Object.freeze(parseProfile(p))]))

export const PROFILE_IDS: readonly string[] = [...catalogue.keys()]

export function listProfiles(): readonly Profile[] {
  return [...catalogue.values()]
}

export function getProfile(id: string): Profile {
  const profile = catalogue.get(id)
  if (!profile) throw new Error(`unknown netem profile '${id}' (known: ${PROFILE_IDS.join(', ')})`)
  return profile
}

/** A profile read from a JSON file shaped like the catalogue entries. */
export async function loadProfileFile(path: string): Promise<Profile> {
  const text = await readFile(path, 'utf8')
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new Error(`netem profile ${path} is not JSON`, { cause: err })
  }
  return parseProfile(json)
}

export interface ProfileOverrides {
  id?: string
  down?: Partial<DirectionSpec>
  up?: Partial<DirectionSpec>
  outages?: Profile['outages']
}

/** A variant of a profile (e.g. with jitter), validated like any other. */
export function withOverrides(base: Profile, overrides: ProfileOverrides): Profile {
  return parseProfile({
    ...base,
    id: overrides.id ?? `${base.id}-custom`,
    down: { ...base.down, ...overrides.down },
    up: { ...base.up, ...overrides.up },
    outages: overrides.outages === undefined ? base.outages : overrides.outages
  })
}
