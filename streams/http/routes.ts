/**
 * The HTTP API's exact table of routes. A path matches a route segment by segment, literal
 * segments byte for byte (so `/health/anything`, `/metrics/` and `/items/1/` match nothing:
 * 404, no redirect); a `:param` segment takes one raw segment, decoded later so a malformed
 * %-escape can be answered with 400.
 */
export type RouteName = 'live-page' | 'events' | 'summary' | 'metrics' | 'health-live' | 'health-ready' | 'recommendations' | 'similar' | 'item';

export interface Route {
  readonly name: RouteName;
  readonly path: string;
  /** Answered without the bearer token (probes of orchestrators carry none). */
  readonly open?: boolean;
  /**
   * Also accepts the bearer token as `?token=`: a browser opening the page cannot send a header,
   * and EventSource cannot either. Only the live page and its event stream, so that an API
   * client's token never needs to sit in a URL.
   */
  readonly tokenInQuery?: boolean;
}

export const ROUTES: readonly Route[] = [
  { name: 'live-page', path: '/', tokenInQuery: true },
  { name: 'events', path: '/events', tokenInQuery: true },
  { name: 'summary', path: '/summary' },
  { name: 'metrics', path: '/metrics' },
  { name: 'health-live', path: '/health/live', open: true },
  { name: 'health-ready', path: '/health/ready', open: true },
  { name: 'recommendations', path: '/recommendations/:userId' },
  { name: 'similar', path: '/similar/:itemId' },
  { name: 'item', path: '/items/:itemId' },
];

/** Methods every route answers; node sends no body for HEAD. */
export const ALLOWED_METHODS = ['GET', 'HEAD'] as const;

export interface RouteMatch {
  readonly route: Route;
  /** The `:param` segment as it came, still %-escaped. */
  readonly rawParam?: string;
}

export function matchRoute(rawPath: string): RouteMatch | undefined {
  const segments = rawPath.split('/');
  for (const route of ROUTES) {
    const pattern = route.path.split('/');
    if (pattern.length !== segments.length) continue;
    let rawParam: string | undefined;
    const matches = pattern.every((part, i) => {
      if (!part.startsWith(':')) return part === segments[i];
      rawParam = segments[i];
      return true;
    });
    if (matches) return { route, rawParam };
  }
  return undefined;
}
