/** One email as the outbox stores it and a transport sends it: a text and an HTML part. */
export interface MailMessage {
  to: string
  subject: string
  text: string
  html: string
}
