/**
 * Messages per hour over the last 24 hours as a stacked bar chart: inline
 * SVG drawn on the server (no script, no chart library) that scales to the
 * page's width, with a legend and the same figures as a table for screen
 * readers.
 */
import { OUTCOMES, type HourlyBucket, type Outcome } from '../../store/dashboard.js';

/** The chart's drawing area in SVG units (the viewBox); the SVG itself is as wide as the page allows. */
const CHART = { width: 480, height: 200, left: 40, right: 16, top: 10, bottom: 26 } as const;
export const PLOT_HEIGHT = CHART.height - CHART.top - CHART.bottom;
const PLOT_WIDTH = CHART.width - CHART.left - CHART.right;

/** The top of the scale and its gridline step: 1, 2 or 5 times a power of ten, at most four steps, at least 1. */
export function chartScale(max: number): { top: number; step: number } {
  for (let power = 1; ; power *= 10) {
    for (const step of [power, 2 * power, 5 * power]) {
      const steps = Math.ceil(max / step);
      if (steps <= 4) return { top: Math.max(1, steps) * step, step };
    }
  }
}

const total = (h: HourlyBucket): number => OUTCOMES.reduce((n, o) => n + h[o], 0);
/** `13:00` (UTC, like every time in the panel). */
const hourLabel = (start: number): string => `${new Date(start).toISOString().slice(11, 13)}:00`;

/** Sums of each outcome over the window. */
export function outcomeTotals(hours: HourlyBucket[]): Record<Outcome, number> {
  const sums: Record<Outcome, number> = { delivered: 0, deferred: 0, held: 0, failed: 0 };
  for (const h of hours) for (const o of OUTCOMES) sums[o] += h[o];
  return sums;
}

function Bars({ hours, top }: { hours: HourlyBucket[]; top: number }) {
  const slot = PLOT_WIDTH / hours.length;
  return (
    <g>
      {hours.map((h, i) => {
        let y = CHART.top + PLOT_HEIGHT;
        const x = CHART.left + i * slot + slot * 0.15;
        return OUTCOMES.filter((o) => h[o] > 0).map((o) => {
          const height = (h[o] / top) * PLOT_HEIGHT;
          y -= height;
          return (
            <rect
              class={`bar bar-${o}`}
              x={x.toFixed(2)}
              y={y.toFixed(2)}
              width={(slot * 0.7).toFixed(2)}
              height={height.toFixed(2)}
              data-hour={hourLabel(h.start)}
              data-outcome={o}
              data-count={h[o]}
            >
              <title>{`${hourLabel(h.start)} UTC: ${h[o]} ${o}`}</title>
            </rect>
          );
        });
      })}
    </g>
  );
}

function Axes({ hours, top, step }: { hours: HourlyBucket[]; top: number; step: number }) {
  const slot = PLOT_WIDTH / hours.length;
  const ticks = Array.from({ length: top / step + 1 }, (_, i) => i * step);
  const yOf = (n: number): number => CHART.top + PLOT_HEIGHT - (n / top) * PLOT_HEIGHT;
  return (
    <g class="axes">
      {ticks.map((n) => (
        <>
          <line class={n === 0 ? 'axis' : 'grid'} x1={CHART.left} x2={CHART.width - CHART.right} y1={yOf(n)} y2={yOf(n)} />
          <text x={CHART.left - 6} y={yOf(n)} text-anchor="end" dominant-baseline="middle">
            {n}
          </text>
        </>
      ))}
      {/* Every third hour, counted back from the current one so that it is labelled. */}
      {hours.map((h, i) =>
        (hours.length - 1 - i) % 3 === 0 ? (
          <text
            x={(CHART.left + (i + 0.5) * slot).toFixed(2)}
            y={CHART.top + PLOT_HEIGHT + 6}
            text-anchor="middle"
            dominant-baseline="hanging"
          >
            {hourLabel(h.start)}
          </text>
        ) : null,
      )}
    </g>
  );
}

/** The figures behind the chart, one row per hour, for screen readers. */
function ChartTable({ hours }: { hours: HourlyBucket[] }) {
  return (
    <div class="visually-hidden">
      <table>
        <caption>Messages per hour by outcome, last 24 hours (UTC)</caption>
        <thead>
          <tr>
            <th scope="col">Hour</th>
            {OUTCOMES.map((o) => (
              <th scope="col">{o}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {hours.map((h) => (
            <tr>
              <th scope="row">{hourLabel(h.start)}</th>
              {OUTCOMES.map((o) => (
                <td>{h[o]}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The stacked bar chart of `hours` (oldest first), its legend with totals, and its table. */
export function HourlyChart({ hours }: { hours: HourlyBucket[] }) {
  const { top, step } = chartScale(Math.max(0, ...hours.map(total)));
  const sums = outcomeTotals(hours);
  const summary = `Messages per hour over the last 24 hours: ${OUTCOMES.map((o) => `${sums[o]} ${o}`).join(', ')}.`;
  return (
    <figure class="chart">
      <svg
        class="hourly-chart"
        viewBox={`0 0 ${CHART.width} ${CHART.height}`}
        role="img"
        aria-labelledby="hourly-chart-title"
        preserveAspectRatio="xMidYMid meet"
      >
        <title id="hourly-chart-title">{summary}</title>
        <Axes hours={hours} top={top} step={step} />
        <Bars hours={hours} top={top} />
      </svg>
      <figcaption>
        <ul class="legend">
          {OUTCOMES.map((o) => (
            <li>
              <span class={`swatch bar-${o}`} aria-hidden="true"></span>
              {o} <strong>{sums[o]}</strong>
            </li>
          ))}
        </ul>
        <span class="muted">Hours in UTC; the last bar is the current hour.</span>
      </figcaption>
      <ChartTable hours={hours} />
    </figure>
  );
}
