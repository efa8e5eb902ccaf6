// Reconnect pacing shared by everything that retries.

// BACKOFF_BASE is the first wait in milliseconds, doubled per attempt.
export const BACKOFF_BASE = 500
// BACKOFF_MAX caps the wait, so a client notices a recovered server soon.
export const BACKOFF_MAX = 15_000

// backoffDelay is the wait before retry number `attempt` (0 for the first
// retry): exponential, capped, with jitter between half and all of it so
// that many clients dropped at once do not all return at the same moment.
export function backoffDelay(attempt, random = Math.random) {
  const n = Math.max(0, Math.min(attempt, 30))
  const ceiling = Math.min(BACKOFF_MAX, BACKOFF_BASE * 2 ** n)
  return Math.round(ceiling / 2 + (ceiling / 2) * random())
}
