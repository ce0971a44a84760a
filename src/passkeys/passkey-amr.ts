/**
 * RFC 8176 methods of a passkey assertion. A backup-eligible (synced, "multiDevice")
 * credential's key can leave the device: "swk"; a device-bound one is "hwk". "user" when
 * the authenticator verified the user (PIN or biometric); a key plus that verification
 * is two factors, so "mfa" too — without it a passkey is possession only.
 */
export function passkeyAmr(deviceType: string, userVerified: boolean): string[] {
  const key = deviceType === 'multiDevice' ? 'swk' : 'hwk'
  return userVerified ? [key, 'user', 'mfa'] : [key]
}
