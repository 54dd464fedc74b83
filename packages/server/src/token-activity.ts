/**
 * Per-minute counts of POST /v1/token over the last hour: issued tokens, and refusals by code.
 * What the admin overview draws (GET /admin/v1/stats). Prometheus keeps the long history; this
 * is the at-a-glance view an operator gets without one. Bounded: one bucket per minute, 60 kept.
 */
export const ACTIVITY_MINUTES = 60

interface Bucket {
  minute: number
  issued: number
  refused: Record<string, number>
}

export interface MinuteActivity {
  /** The minute's start, ISO 8601 UTC. */
  start: string
  issued: number
  refused: Record<string, number>
}

export class TokenActivity {
  readonly #buckets: Array<Bucket | undefined> = new Array(ACTIVITY_MINUTES)

  issued(now = Date.now()): void {
    this.#bucket(now).issued++
  }

  refused(code: string, now = Date.now()): void {
    const bucket = this.#bucket(now)
    bucket.refused[code] = (bucket.refused[code] ?? 0) + 1
  }

  /** The last 60 minutes, oldest first, the current minute last; minutes without requests are zeros. */
  lastHour(now = Date.now()): MinuteActivity[] {
    const current = Math.floor(now / 60_000)
    const minutes: MinuteActivity[] = []
    for (let minute = current - ACTIVITY_MINUTES + 1; minute <= current; minute++) {
      const bucket = this.#buckets[minute % ACTIVITY_MINUTES]
      const live = bucket?.minute === minute ? bucket : undefined
      minutes.push({ start: new Date(minute * 60_000).toISOString(), issued: live?.issued ?? 0, refused: { ...live?.refused } })
    }
    return minutes
  }

  #bucket(now: number): Bucket {
    const minute = Math.floor(now / 60_000)
    const slot = minute % ACTIVITY_MINUTES
    let bucket = this.#buckets[slot]
    if (bucket?.minute !== minute) {
      bucket = { minute, issued: 0, refused: {} }
      this.#buckets[slot] = bucket
    }
    return bucket
  }
}
