/**
 * One autocannon run, summarised. Latency percentiles are computed here from every response's
 * exact time (autocannon's own histogram rounds to whole milliseconds, too coarse for a p99 of
 * a few ms compared against 3× itself). Every response counts, whatever its status, and the
 * status codes are tallied so that a run full of errors is visible, never a silent fast figure.
 */
import autocannon from 'autocannon'

/**
 * @param {object} options
 * @param {string} options.url          base URL of the server
 * @param {number} [options.connections=50]
 * @param {number} [options.seconds]    duration (ignored when `amount` is given)
 * @param {number} [options.amount]     stop after this many requests instead
 * @param {Record<string,string>} [options.headers]
 * @param {(request: object) => object} [options.setupRequest]  called before every request (rotation)
 * @param {(status: number, body: string) => void} [options.onResponse]  sees every body (costs the generator a little)
 * @param {(instance: object) => void} [options.onInstance]  gets the autocannon instance (to stop it early)
 */
export async function runLoad({ url, connections = 50, seconds, amount, headers = {}, setupRequest, onResponse, onInstance, path = '/v1/token', method = 'POST' }) {
  const request = { method, path, headers }
  if (setupRequest) request.setupRequest = setupRequest
  if (onResponse) request.onResponse = (status, body) => onResponse(status, body)
  const latencies = []
  const statuses = {}
  const instance = autocannon({
    url,
    connections,
    ...(amount !== undefined ? { amount } : { duration: seconds }),
    requests: [request],
    // A hung request is a finding, not something to wait 10 s for.
    timeout: 10,
  })
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime)
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1
  })
  onInstance?.(instance)
  const result = await instance
  return summarise(result, latencies, statuses, connections)
}

function summarise(result, latencies, statuses, connections) {
  const sorted = Float64Array.from(latencies).sort()
  const seconds = result.duration
  const total = latencies.length
  const ok = statuses[200] ?? 0
  return {
    connections,
    seconds,
    requests: total,
    rps: round(total / seconds, 1),
    ok,
    okRps: round(ok / seconds, 1),
    non200: total - ok,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted.length ? round(sorted[sorted.length - 1], 2) : null,
  }
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return round(sorted[index], 2)
}

export function round(value, digits) {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}
