import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  values: Array<number | null>;
}

export interface ChartProps {
  title: string;
  /** Bucket start times, in seconds since the epoch. */
  times: number[];
  series: Series[];
  unit?: string;
  /** Stacked bars (counts by outcome) or lines (latencies). */
  kind?: 'bars' | 'lines';
}

/**
 * A time chart (uPlot) with the same numbers in a table behind it: screen readers and tests read
 * the table, which is what the chart draws.
 */
export function Chart({ title, times, series, unit = '', kind = 'lines' }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || times.length === 0) return undefined;
    const width = Math.max(260, el.clientWidth);
    // Bars are stacked: each drawn to the sum of itself and those before it, the tallest first.
    const plotted = kind === 'bars' ? stack(series) : series;
    const data: uPlot.AlignedData = [times, ...plotted.map((s) => s.values)];
    const opts: uPlot.Options = {
      width,
      height: 220,
      scales: { y: { range: (_u: uPlot, _min: number, max: number) => [0, Math.max(1, max) * 1.1] } },
      series: [
        {},
        ...plotted.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: kind === 'bars' ? `${s.color}55` : undefined,
          width: 2,
          ...(kind === 'bars' ? { paths: uPlot.paths.bars?.({ size: [0.8, 40] }) } : {}),
        })),
      ],
      axes: [{}, { label: unit, size: 60 }],
      legend: { show: true },
    } as uPlot.Options;
    const plot = new uPlot(opts, data, el);
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(260, el.clientWidth), height: 220 }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [times, series, unit, kind]);
  const id = `chart-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <figure className="chart" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`}>{title}</figcaption>
      {times.length === 0 ? <p className="muted">No data in this time range.</p> : <div ref={box} className="chart-canvas" aria-hidden="true" />}
      <details>
        <summary>Data table</summary>
        <div className="table-wrap">
          <table data-chart={title}>
            <caption>{title}</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                {series.map((s) => (
                  <th scope="col" key={s.label}>
                    {s.label}
                    {unit ? ` (${unit})` : ''}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {times.map((t, i) => (
                <tr key={t}>
                  <th scope="row">{new Date(t * 1000).toISOString()}</th>
                  {series.map((s) => (
                    <td key={s.label}>{formatValue(s.values[i])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

function stack(series: Series[]): Series[] {
  const sums: Series[] = [];
  series.forEach((s, i) => {
    const below = sums[i - 1];
    sums.push({ ...s, values: s.values.map((v, j) => (v ?? 0) + (below?.values[j] ?? 0)) });
  });
  return sums.reverse();
}

function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined) return '';
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
