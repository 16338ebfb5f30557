/**
 * Messages handed from whoever reads them to `Transport.read()` callers: a message waits for
 * a reader, or a reader for a message. Once ended, waiting readers get null (or the error the
 * queue ended with) and so does every later read.
 */
export class MessageQueue {
  private readonly messages: Uint8Array[] = [];
  private readonly waiters: Array<{
    resolve: (m: Uint8Array | null) => void;
    reject: (e: Error) => void;
  }> = [];
  private failure: Error | undefined;
  ended = false;

  put(m: Uint8Array): void {
    const w = this.waiters.shift();
    if (w) w.resolve(m);
    else this.messages.push(m);
  }

  take(): Promise<Uint8Array | null> {
    const m = this.messages.shift();
    if (m) return Promise.resolve(m);
    if (this.ended) return this.failure ? Promise.reject(this.failure) : Promise.resolve(null);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Ends the queue: waiting and later reads get null, or are rejected with `err`. Idempotent. */
  end(err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    for (const w of this.waiters.splice(0)) {
      if (err) w.reject(err);
      else w.resolve(null);
    }
  }

  /** Drops the messages no one has taken yet. */
  clear(): void {
    this.messages.length = 0;
  }
}
