/** A server-sent events reader for tests: the messages of one `GET` as they arrive. */
import { request, type IncomingHttpHeaders } from 'node:http';

export interface StreamMessage {
  readonly event: string;
  // Tests read whichever fields they check.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly data: any;
}

export interface EventStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The next message named `event` that `accept` takes, skipping others; rejects after `timeoutMs`. */
  next(event: string, accept?: (data: StreamMessage['data']) => boolean, timeoutMs?: number): Promise<StreamMessage['data']>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

export function openEventStream(port: number, path: string, headers: Record<string, string> = {}): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (response) => {
      const queue: StreamMessage[] = [];
      let waiting: (() => void) | undefined;
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) queue.push({ event, data: JSON.parse(data) });
        }
        waiting?.();
      });
      const ended = new Promise<void>((done) => response.on('close', done));
      const next = async (event: string, accept: (data: StreamMessage['data']) => boolean = () => true, timeoutMs = 5000) => {
        const deadline = performance.now() + timeoutMs;
        for (;;) {
          const at = queue.findIndex((message) => message.event === event && accept(message.data));
          if (at >= 0) return queue.splice(0, at + 1).pop()!.data;
          const left = deadline - performance.now();
          if (left <= 0) throw new Error(`no '${event}' message within ${timeoutMs} ms`);
          await new Promise<void>((wake) => {
            const timer = setTimeout(wake, left);
            waiting = () => {
              clearTimeout(timer);
              wake();
            };
          });
        }
      };
      resolve({ status: response.statusCode ?? 0, headers: response.headers, next, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}
