/** kafkajs, with its read_committed filter replaced first (read-committed.ts): the only place the project loads it from. */
import './read-committed.js';
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- the one place kafkajs itself is imported.
import kafkajs from 'kafkajs';

export default kafkajs;
