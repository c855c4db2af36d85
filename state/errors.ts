/** A state-directory problem the user must act on; the CLI prints its message as one line. */
export class StateError extends Error {
  override readonly name = 'StateError';
}
