/**
 * The two-tower's training thread: its own tfjs backend, the trainer, and messages with the
 * stream's thread (events in; serving weights, checkpoints and flush acknowledgements out).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from './backend.js';
import type { EncodedEvents } from './encoding.js';
import { CheckpointSchedule, PUBLISH_EVERY_MS, type HostStart } from './host.js';
import { TowerTrainer } from './trainer.js';

type ToWorker = { type: 'events'; events: EncodedEvents; catchUp?: boolean } | { type: 'flush'; id: number };

const port = parentPort!;
try {
  const start = workerData as HostStart;
  const { backend } = await initBackend(start.options.backend);
  const trainer = new TowerTrainer(start.options, start.seed);
  await trainer.restore(start.checkpoint);
  const schedule = new CheckpointSchedule(trainer, start.options.checkpointEvery);
  let lastPublish = 0;
  let unpublished = false;
  let timer: NodeJS.Timeout | undefined;
  const publish = () => {
    timer = undefined;
    if (!unpublished) return;
    port.postMessage({ type: 'update', update: trainer.update() });
    lastPublish = performance.now();
    unpublished = false;
  };
  const checkpoint = (force: boolean) => {
    const entries = schedule.due(force);
    if (entries) port.postMessage({ type: 'checkpoint', entries, trainedEvents: trainer.trainedEvents });
  };
  port.on('message', (message: ToWorker) => {
    try {
      if (message.type === 'events') {
        if (trainer.add(message.events, message.catchUp)) unpublished = true;
        if (unpublished && performance.now() - lastPublish >= PUBLISH_EVERY_MS) publish();
        else if (unpublished && !timer) timer = setTimeout(publish, PUBLISH_EVERY_MS);
        checkpoint(false);
      } else {
        if (trainer.flush()) unpublished = true;
        publish();
        checkpoint(true);
        port.postMessage({ type: 'flushed', id: message.id });
      }
    } catch (error) {
      port.postMessage({ type: 'failed', message: (error as Error).message });
    }
  });
  port.postMessage({ type: 'ready', backend });
} catch (error) {
  port.postMessage({ type: 'failed', message: (error as Error).message });
}
