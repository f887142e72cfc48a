/** A message one dispatcher has claimed and must now send. */
export interface ClaimedMail {
  readonly id: string;
  /** The template it came from (metrics label, logs). */
  readonly kind: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** Attempts so far, this one included. */
  readonly attempts: number;
  readonly createdAt: Date;
}

export interface ClaimRequest {
  /** Who claims: the dispatcher's id, checked again by every mark* call. */
  readonly owner: string;
  readonly now: Date;
  /** Until when the claim holds; after that another dispatcher may take the message. */
  readonly claimUntil: Date;
  readonly limit: number;
}

/**
 * The outbox as the dispatcher sees it (src/db/outbox-repository.ts). Every
 * mark* call only changes a message its owner still holds, and returns false
 * otherwise (the claim expired and another dispatcher took over).
 */
export interface OutboxRepository {
  /**
   * Atomically takes up to `limit` due messages (queued and due, or sending
   * with an expired claim), counting an attempt on each. Two dispatchers
   * never get the same message from concurrent claims.
   */
  claim(request: ClaimRequest): Promise<ClaimedMail[]>;
  /** Sent: the bodies (which hold a live link) are erased. */
  markSent(id: string, owner: string, at: Date): Promise<boolean>;
  /** Back to the queue, due again at `nextAttemptAt`. */
  markRetry(id: string, owner: string, nextAttemptAt: Date, lastError: string): Promise<boolean>;
  /** Given up: kept for the record, bodies erased. */
  markFailed(id: string, owner: string, lastError: string): Promise<boolean>;
  /** When the oldest message not yet sent (nor given up) was queued; null when there is none. */
  oldestUnsent(): Promise<Date | null>;
  /**
   * Housekeeping: deletes one-time tokens that expired before
   * `tokensExpiredBefore` (used, unused or never usable) and sent or failed
   * messages queued before `finishedMailBefore`. Returns how many rows went.
   */
  purge(before: { readonly tokensExpiredBefore: Date; readonly finishedMailBefore: Date }): Promise<number>;
}
