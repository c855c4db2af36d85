/**
 * Whether a Kafka client is in touch with the cluster, for the readiness endpoint: the time of
 * the last successful exchange and the last error, so "down since" and "why" can be shown.
 */
export interface KafkaHealth {
  readonly connected: boolean;
  readonly lastError?: string;
  /** epoch ms of lastError */
  readonly lastErrorAt?: number;
}

export class ConnectionHealth {
  private contactAt: number | undefined;
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;

  /**
   * @param staleAfterMs a client that exchanges with the broker continually (a consumer fetches
   *   every few hundred ms) counts as disconnected after this long without an exchange.
   */
  constructor(
    readonly staleAfterMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  contact(): void {
    this.contactAt = this.now();
  }

  failed(message: string): void {
    this.contactAt = undefined;
    this.lastError = message;
    this.lastErrorAt = this.now();
  }

  disconnected(): void {
    this.contactAt = undefined;
  }

  snapshot(): KafkaHealth {
    const connected = this.contactAt !== undefined && this.now() - this.contactAt <= this.staleAfterMs;
    return this.lastError === undefined ? { connected } : { connected, lastError: this.lastError, lastErrorAt: this.lastErrorAt };
  }
}
