/**
 * Steady token load for tests: a few workers POST /v1/token in a loop against whatever URL
 * `target()` names at that moment (a server restarted on port 0 gets a new one), bounded by
 * a request budget and stopped on demand. Connection failures are counted, never thrown: the
 * tests that use this kill the server on purpose.
 */
export interface IssuedToken {
  token: string
  /** Which server process (generation) issued it. */
  generation: number
}

export interface TokenLoad {
  readonly issued: IssuedToken[]
  /** Answers by status (or 'network' for a failed connection). */
  readonly outcomes: Map<string, number>
  /** Tokens issued by the given generation so far. */
  issuedBy(generation: number): number
  /** Requests sent and not yet answered, now. */
  readonly inFlight: number
  stop(): Promise<void>
}

export interface LoadTarget {
  url: string | undefined
  generation: number
}

export function startTokenLoad(target: () => LoadTarget, authorization: string, options: { workers?: number; maxRequests?: number } = {}): TokenLoad {
  const issued: IssuedToken[] = []
  const outcomes = new Map<string, number>()
  const perGeneration = new Map<number, number>()
  const count = (key: string): void => void outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
  let stopped = false
  let inFlight = 0
  let budget = options.maxRequests ?? 5_000

  async function worker(): Promise<void> {
    while (!stopped && budget-- > 0) {
      const { url, generation } = target()
      if (url === undefined) {
        // Between a kill and the restart: yield to the event loop rather than spin or sleep.
        await new Promise((resolve) => setImmediate(resolve))
        budget++
        continue
      }
      inFlight++
      try {
        const response = await fetch(`${url}/v1/token`, { method: 'POST', headers: { authorization }, signal: AbortSignal.timeout(5_000) })
        const text = await response.text()
        count(String(response.status))
        if (response.status === 200) {
          issued.push({ token: (JSON.parse(text) as { accesstoken: string }).accesstoken, generation })
          perGeneration.set(generation, (perGeneration.get(generation) ?? 0) + 1)
        }
      } catch {
        count('network')
      } finally {
        inFlight--
      }
    }
  }

  const running = Promise.all(Array.from({ length: options.workers ?? 2 }, worker))
  return {
    issued,
    outcomes,
    issuedBy: (generation) => perGeneration.get(generation) ?? 0,
    get inFlight() {
      return inFlight
    },
    async stop() {
      stopped = true
      await running
    },
  }
}
