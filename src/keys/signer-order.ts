// Which active key signs. Two rotations that raced can leave two active keys until
// maintenance retires one: every instance must pick the same signer (latest
// activation, then the greater kid), and maintenance must keep that same one.

interface Activated {
  kid: string
  activatedAt: number | null | undefined
}

/** Sorts active keys so that the signer comes first. */
export function bySignerOrder(a: Activated, b: Activated): number {
  return (b.activatedAt ?? 0) - (a.activatedAt ?? 0) || (a.kid < b.kid ? 1 : -1)
}
