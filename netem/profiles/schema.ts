import { z } from 'zod'

/**
 * What one direction of an emulated link does to packets, in the order the
 * emulator applies it: random loss, a bottleneck of `rateKbit` with a
 * `queueBytes` tail-drop buffer, then `delayMs` ± `jitterMs` of one-way delay.
 * Units follow tc: kbit = 1000 bit/s, counted over IP packets (no link-layer header).
 */
export const directionSchema = z
  .object({
    /** Bottleneck rate, kbit/s (1 kbit = 1000 bit, as in tc and ATC). */
    rateKbit: z.number().positive(),
    /** One-way delay added after serialisation, ms. */
    delayMs: z.number().nonnegative(),
    /** Uniform jitter ± around delayMs, ms; packets still leave in order. */
    jitterMs: z.number().nonnegative(),
    /** Independent random loss, percent of packets. */
    lossPct: z.number().min(0).max(100),
    /** Percent of packets that skip the delay and overtake earlier ones (netem `reorder`). */
    reorderPct: z.number().min(0).max(100),
    /** Bottleneck buffer, bytes; a packet that does not fit is dropped (tail drop). */
    queueBytes: z.number().int().min(1500)
  })
  .strict()
  .refine((d) => d.jitterMs <= d.delayMs, { message: 'jitterMs must not exceed delayMs' })

const rangeSchema = z
  .object({ min: z.number().nonnegative(), max: z.number().nonnegative() })
  .strict()
  .refine((r) => r.min <= r.max, { message: 'min must not exceed max' })

/**
 * Link outages: the link alternates between up periods and down periods whose
 * lengths are drawn uniformly from these ranges (seconds). While down, every
 * packet in either direction is dropped, including those already in flight.
 */
export const outageScheduleSchema = z
  .object({
    upS: rangeSchema,
    downS: rangeSchema
  })
  .strict()
  .refine((s) => s.upS.min > 0 && s.downS.min > 0, { message: 'up and down periods must be longer than 0 s' })

export const sourceSchema = z
  .object({
    /** Who published the numbers. */
    name: z.string().min(1),
    /** Where to check them, when they are published online. */
    url: z.url().optional(),
    /** What exactly was taken from it. */
    used: z.string().min(1)
  })
  .strict()

export const profileSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    title: z.string().min(1),
    summary: z.string().min(1),
    sources: z.array(sourceSchema).min(1),
    /** Server -> phone. */
    down: directionSchema,
    /** Phone -> server. */
    up: directionSchema,
    outages: outageScheduleSchema.nullable()
  })
  .strict()

export type DirectionSpec = z.infer<typeof directionSchema>
export type OutageSchedule = z.infer<typeof outageScheduleSchema>
export type ProfileSource = z.infer<typeof sourceSchema>
export type Profile = z.infer<typeof profileSchema>

/** Validates a profile from outside the catalogue (e.g. a JSON file); throws with every problem listed. */
export function parseProfile(input: unknown): Profile {
  const result = profileSchema.safeParse(input)
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    throw new Error(`invalid netem profile: ${problems.join('; ')}`)
  }
  return result.data
}
