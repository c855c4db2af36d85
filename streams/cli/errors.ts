/** An error in what the user asked for (bad flag value, unknown user): printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
