// docs/audit.md, Bounded write volume: a brute-force run must not fill the disk with
// login.failed rows. Per client address and window, the first `burst` failures are
// written one by one; after that only the failures whose count is a power of two (and
// each of those rows carries the count so far), so N failures in a window write at most
// burst + log2(N) rows and the last row still says how many there were.

/** True when the `count`-th failed login from one address in the current window is written. */
export function isLoginFailureRecorded(count: number, burst: number): boolean {
  return count <= burst || (count & (count - 1)) === 0
}
