import type { LinkPurpose, LinkTokenRow, UserRow } from '../db/schema.js'
import { isUserUsable } from '../users/user-usable.js'

/**
 * Whether link `link` may still do `purpose` for `user` at `now` (docs/contract.md §9): it
 * is unused and unexpired, and the account is in the state the link was issued for —
 * enabled, same email, same credential version. Any credential change (password
 * change or reset, disable: users/credential-fence.ts) or email change therefore kills
 * every outstanding link, and a deleted user's links are gone with the row. The same
 * conditions are re-checked under lock when the link is spent (link-token-repository.ts).
 */
export function isLinkUsable(
  link: LinkTokenRow | undefined,
  user: UserRow | undefined,
  purpose: LinkPurpose,
  now: number,
): link is LinkTokenRow {
  return (
    link !== undefined &&
    link.purpose === purpose &&
    link.used_at === null &&
    link.expires_at > now &&
    isUserUsable(user) &&
    user.id === link.user_id &&
    user.email === link.email &&
    Number(user.credential_version) === Number(link.credential_version)
  )
}
