/**
 * When a replayed record becomes due: as fast as possible, at a fixed rate, or at a multiple of
 * real time (following the gaps between the events' own timestamps).
 */
export type Pacing =
  { readonly kind: 'max' } | { readonly kind: 'rate'; readonly eventsPerSecond: number } | { readonly kind: 'speed'; readonly factor: number };

export function describePacing(pacing: Pacing): string {
  switch (pacing.kind) {
    case 'max':
      return 'as fast as possible';
    case 'rate':
      return `${pacing.eventsPerSecond} events/s`;
    case 'speed':
      return `${pacing.factor}× real time`;
  }
}
