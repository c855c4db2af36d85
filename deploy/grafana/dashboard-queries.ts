/**
 * The PromQL queries of a Grafana dashboard and the metric names they read. The dashboard test
 * checks every name against what rxrec exports; `npm run dashboard:check` sends every query to
 * a real Prometheus. A name is what a selector selects: an identifier that is not a function or
 * aggregation (followed by `(`), not a keyword, not a label inside `{…}` or a `by (…)` list, not
 * inside a string or a `[…]` range, not a Grafana variable. `{__name__="x"}` selects x too.
 */

/** One query of the dashboard: where it is (panel title, or template variable), and its text. */
export interface DashboardQuery {
  readonly where: string;
  readonly expr: string;
}

interface Panel {
  readonly title?: string;
  readonly targets?: readonly { readonly expr?: string; readonly refId?: string }[];
  readonly panels?: readonly Panel[];
}

interface TemplateVariable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query?: string };
}

export interface Dashboard {
  readonly panels?: readonly Panel[];
  readonly templating?: { readonly list?: readonly TemplateVariable[] };
}

/** Every PromQL query: each panel target's `expr` (rows' nested panels included) and each query variable's. */
export function dashboardQueries(dashboard: Dashboard): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  const visit = (panels: readonly Panel[] | undefined) => {
    for (const panel of panels ?? []) {
      for (const target of panel.targets ?? []) {
        if (target.expr !== undefined) queries.push({ where: `panel "${panel.title ?? '(untitled)'}" ${target.refId ?? ''}`.trim(), expr: target.expr });
      }
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    if (query !== undefined) queries.push({ where: `variable $${variable.name}`, expr: variablePromql(query) });
  }
  return queries;
}

/**
 * The PromQL inside a Grafana Prometheus variable query: `label_values(selector, label)` reads the
 * selector (its second argument is a label name, not a metric), `query_result(q)` reads q,
 * `label_values(label)`, `label_names()` and `metrics(regex)` read no metric.
 */
export function variablePromql(query: string): string {
  const text = query.trim();
  const call = /^(label_values|query_result|label_names|metrics)\s*\(([\s\S]*)\)$/.exec(text);
  if (!call) return text;
  const [, fn, args] = call;
  if (fn === 'query_result') return args;
  if (fn !== 'label_values') return '';
  const comma = lastTopLevelComma(args);
  return comma < 0 ? '' : args.slice(0, comma);
}

function lastTopLevelComma(text: string): number {
  let depth = 0;
  let found = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') i = endOfString(text, i);
    else if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 0) found = i;
  }
  return found;
}

// Binary operators' keywords, modifiers and aggregation operators (which may be followed by
// `by (…)` rather than `(`): PromQL's lexer reserves them, so none is a metric name.
const KEYWORDS = new Set([
  ...['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'atan2'],
  ...['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio'],
]);
// Keywords whose parenthesised list holds label names: `sum by (le)`, `on (instance)`, `group_left (model)`.
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const NUMBER_WORDS = new Set(['inf', 'nan']);

/** The metric names a PromQL expression selects, in order of first appearance, each once. */
export function metricNamesIn(expr: string): string[] {
  const names: string[] = [];
  const add = (name: string) => {
    if (!names.includes(name)) names.push(name);
  };
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (c === '#') {
      i = expr.indexOf('\n', i) < 0 ? expr.length : expr.indexOf('\n', i);
    } else if (c === '"' || c === "'" || c === '`') {
      i = endOfString(expr, i) + 1;
    } else if (c === '{') {
      const end = closing(expr, i, '{', '}');
      for (const name of nameMatchers(expr.slice(i + 1, end))) add(name);
      i = end + 1;
    } else if (c === '[') {
      i = closing(expr, i, '[', ']') + 1;
    } else if (c === '$') {
      // A Grafana variable: $name, ${name} or ${name:format}.
      i = expr[i + 1] === '{' ? closing(expr, i + 1, '{', '}') + 1 : identifierEnd(expr, i + 1);
    } else if (/[0-9.]/.test(c)) {
      // Numbers and durations (1.5e-3, 0x1f, 5m, 1h30m): an identifier never starts with a digit or a dot.
      while (i < expr.length && /[a-zA-Z0-9_.]/.test(expr[i])) i++;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const end = identifierEnd(expr, i);
      const word = expr.slice(i, end);
      const next = skipSpace(expr, end);
      if (LABEL_LIST_KEYWORDS.has(word) && expr[next] === '(') {
        i = closing(expr, next, '(', ')') + 1;
      } else {
        if (expr[next] !== '(' && !KEYWORDS.has(word) && !NUMBER_WORDS.has(word.toLowerCase())) add(word);
        i = end;
      }
    } else {
      i++;
    }
  }
  return names;
}

/** Names selected by `__name__` equality matchers inside a `{…}` block. */
function nameMatchers(matchers: string): string[] {
  return [...matchers.matchAll(/(?:^|,)\s*__name__\s*=\s*(["'`])((?:\\.|(?!\1).)*)\1/g)].map((match) => match[2]);
}

function identifierEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && /[a-zA-Z0-9_:]/.test(text[i])) i++;
  return i;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i])) i++;
  return i;
}

/** Index of the quote that closes the string opening at `start` (backslash escapes, except in raw backtick strings). */
function endOfString(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\' && quote !== '`') i++;
    else if (text[i] === quote) return i;
  }
  throw new Error(`unterminated string at ${start} in ${JSON.stringify(text)}`);
}

/** Index of the bracket that closes the one at `start`, skipping strings and nested pairs. */
function closing(text: string, start: number, open: string, close: string): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') i = endOfString(text, i);
    else if (c === open) depth++;
    else if (c === close && --depth === 0) return i;
  }
  throw new Error(`unclosed ${open} at ${start} in ${JSON.stringify(text)}`);
}
