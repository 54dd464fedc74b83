/**
 * How long tokens live, and the margin every "kept until the last token expired" rule adds for
 * clocks that differ between instances and verifiers. One place, so the server, the store and
 * the CLI cannot drift apart.
 */

/** contract.md §1: `exp = iat + 86400`. The only source of the lifetime: it is not a setting. */
export const TOKEN_LIFETIME_SECONDS = 86_400

/** Retired keys, revoked jtis and account revocations outlive their last token by this much. */
export const CLOCK_SKEW_SECONDS = 300

/** How long an account-wide revocation stays in the feed: the last token it affects, plus skew. */
export const ACCOUNT_REVOCATION_RETENTION_SECONDS = TOKEN_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS
