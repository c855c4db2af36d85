/**
 * Static SVG charts for the report: a line chart of named series over a shared x axis and a bar
 * chart. Every label is escaped (model names and titles come from the state); no script, no
 * external resource, so the report opens anywhere and prints.
 */
export interface Line {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [x: number, y: number]>;
}

export interface ChartText {
  readonly title: string;
  readonly x: string;
  readonly y: string;
}

const WIDTH = 720;
const HEIGHT = 300;
const MARGIN = { left: 64, right: 150, top: 36, bottom: 56 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function lineChart(text: ChartText, lines: readonly Line[]): string {
  const drawn = lines.filter((line) => line.points.length > 0);
  const xs = drawn.flatMap((line) => line.points.map(([x]) => x));
  const ys = drawn.flatMap((line) => line.points.map(([, y]) => y));
  if (xs.length === 0) return frame(text, `<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle" class="empty">no data recorded</text>`);
  const [x0, x1] = span(Math.min(...xs), Math.max(...xs));
  const [y0, y1] = span(Math.min(...ys), Math.max(...ys));
  const sx = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0)) * (WIDTH - MARGIN.left - MARGIN.right);
  const sy = (y: number) => HEIGHT - MARGIN.bottom - ((y - y0) / (y1 - y0)) * (HEIGHT - MARGIN.top - MARGIN.bottom);
  const body = [
    axes(
      text,
      ticks(x0, x1).map((t) => [sx(t), format(t)]),
      ticks(y0, y1).map((t) => [sy(t), format(t)]),
    ),
    ...drawn.map((line, i) => {
      const colour = COLOURS[i % COLOURS.length]!;
      const points = line.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      const legendY = MARGIN.top + 14 + i * 18;
      return (
        `<polyline class="series" fill="none" stroke="${colour}" stroke-width="2" points="${points}"><title>${escapeXml(line.name)}</title></polyline>` +
        `<rect x="${WIDTH - MARGIN.right + 12}" y="${legendY - 9}" width="12" height="3" fill="${colour}"/>` +
        `<text x="${WIDTH - MARGIN.right + 30}" y="${legendY - 4}" class="legend">${escapeXml(line.name)}</text>`
      );
    }),
  ];
  return frame(text, body.join(''));
}

export function barChart(text: ChartText, bars: ReadonlyArray<readonly [label: string, value: number]>): string {
  const top = Math.max(0, ...bars.map(([, v]) => v));
  if (bars.length === 0 || top === 0) return frame(text, `<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle" class="empty">no data recorded</text>`);
  const [, y1] = span(0, top);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const step = plotWidth / bars.length;
  const sy = (y: number) => HEIGHT - MARGIN.bottom - (y / y1) * (HEIGHT - MARGIN.top - MARGIN.bottom);
  const body = [
    axes(
      text,
      bars.map(([label], i) => [MARGIN.left + (i + 0.5) * step, label]),
      ticks(0, y1).map((t) => [sy(t), format(t)]),
      true,
    ),
    ...bars.map(
      ([label, value], i) =>
        `<rect class="bar" x="${(MARGIN.left + i * step + 2).toFixed(1)}" y="${sy(value).toFixed(1)}" width="${Math.max(1, step - 4).toFixed(1)}" height="${(sy(0) - sy(value)).toFixed(1)}" fill="${COLOURS[0]}"><title>${escapeXml(`${label}: ${value}`)}</title></rect>`,
    ),
  ];
  return frame(text, body.join(''));
}

function frame(text: ChartText, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeXml(text.title)}">` +
    `<text x="${MARGIN.left}" y="20" class="title">${escapeXml(text.title)}</text>${body}</svg>`
  );
}

function axes(text: ChartText, xTicks: ReadonlyArray<readonly [number, string]>, yTicks: ReadonlyArray<readonly [number, string]>, slanted = false): string {
  const bottom = HEIGHT - MARGIN.bottom;
  const right = WIDTH - MARGIN.right;
  return [
    `<line x1="${MARGIN.left}" y1="${bottom}" x2="${right}" y2="${bottom}" class="axis"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${bottom}" class="axis"/>`,
    ...xTicks.map(([x, label]) =>
      slanted
        ? `<text x="${x.toFixed(1)}" y="${bottom + 12}" text-anchor="end" transform="rotate(-35 ${x.toFixed(1)} ${bottom + 12})" class="tick">${escapeXml(label)}</text>`
        : `<text x="${x.toFixed(1)}" y="${bottom + 16}" text-anchor="middle" class="tick">${escapeXml(label)}</text>`,
    ),
    ...yTicks.map(
      ([y, label]) =>
        `<line x1="${MARGIN.left}" y1="${y.toFixed(1)}" x2="${right}" y2="${y.toFixed(1)}" class="grid"/><text x="${MARGIN.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" class="tick">${escapeXml(label)}</text>`,
    ),
    `<text x="${(MARGIN.left + right) / 2}" y="${HEIGHT - 8}" text-anchor="middle" class="label">${escapeXml(text.x)}</text>`,
    `<text x="14" y="${(MARGIN.top + bottom) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(MARGIN.top + bottom) / 2})" class="label">${escapeXml(text.y)}</text>`,
  ].join('');
}

/** A non-empty range around [lo, hi] (a flat series still gets an axis). */
function span(lo: number, hi: number): [number, number] {
  if (hi > lo) return [lo, hi];
  const pad = Math.abs(lo) * 0.05 || 1;
  return [lo - pad, hi + pad];
}

/** About five round ticks in [lo, hi]. */
function ticks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.round(t / step) * step);
  return out;
}

function format(x: number): string {
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(3)).toString();
}
