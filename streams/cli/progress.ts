/**
 * Live progress of a long run on standard error: a bar with events/s and the current figures on
 * a terminal; a plain line every few seconds otherwise (CI logs, pipes). Standard output stays
 * free for results.
 */
import cliProgress from 'cli-progress';

export interface ProgressFigures {
  readonly position: number;
  readonly total: number;
  readonly eventsPerSecond: number;
  readonly text: string;
}

export interface ProgressView {
  update(figures: ProgressFigures): void;
  stop(): void;
}

const PLAIN_INTERVAL_MS = 5000;

export function progressView(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): ProgressView {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} {bar} {percentage}% | {value}/{total} | {rate} ev/s | {figures}`,
        hideCursor: true,
        fps: 10,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0', figures: '' });
    return {
      update: (f) => bar.update(f.position, { rate: Math.round(f.eventsPerSecond).toLocaleString('en-US'), figures: f.text }),
      stop: () => bar.stop(),
    };
  }
  let lastPrinted = 0;
  let latest: ProgressFigures | undefined;
  const print = (f: ProgressFigures) => {
    const percent = f.total > 0 ? ((100 * f.position) / f.total).toFixed(1) : '0.0';
    stream.write(`${label} ${percent}% ${f.position}/${f.total} ${Math.round(f.eventsPerSecond)} ev/s ${f.text}\n`);
  };
  return {
    update: (f) => {
      latest = f;
      const now = Date.now();
      if (now - lastPrinted >= PLAIN_INTERVAL_MS) {
        lastPrinted = now;
        print(f);
      }
    },
    stop: () => {
      if (latest) print(latest);
    },
  };
}
