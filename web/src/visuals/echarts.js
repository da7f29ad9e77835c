// ECharts with only what the console draws, on the canvas renderer (works under the console's CSP:
// no inline style or script) and with text tooltips (richText: data never becomes HTML).
import * as echarts from 'echarts/core';
import { BarChart, HeatmapChart, LineChart, PieChart, ScatterChart } from 'echarts/charts';
import { GeoComponent, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, PieChart, ScatterChart, HeatmapChart, GridComponent, TooltipComponent, LegendComponent,
  GeoComponent, VisualMapComponent, CanvasRenderer]);

export { echarts };

export const PALETTE = ['#2f6fb0', '#d9822b', '#2e8b57', '#b8405e', '#7a5cb0', '#5f7d8c', '#c49a00', '#0f8a8a', '#8c564b', '#555'];

// Options every chart shares.
export function baseOptions() {
  return {
    animation: false,
    color: PALETTE,
    textStyle: { fontFamily: 'system-ui, sans-serif' },
    tooltip: { renderMode: 'richText', confine: true },
  };
}

// An ECharts instance on `container` (canvas), resized with it; `onItem(params)` on a click on a mark.
export function makeChart(container, option, onItem) {
  const chart = echarts.init(container, null, { renderer: 'canvas' });
  chart.setOption({ ...baseOptions(), ...option });
  if (onItem) chart.on('click', onItem);
  // A container of no size (detached, or hidden while the page changes) has nothing to lay out: a
  // geo view would even fail to invert its zero-scale transform. Such resizes are skipped.
  const observer = new ResizeObserver(() => {
    if (chart.isDisposed() || !container.isConnected || !container.clientWidth || !container.clientHeight) return;
    try {
      chart.resize();
    } catch {
      // the next resize lays it out again
    }
  });
  observer.observe(container);
  return {
    chart,
    dispose() {
      observer.disconnect();
      chart.dispose();
    },
  };
}

// Grid and axis defaults for x/y charts, tight enough for a 390 px screen.
export function gridOptions() {
  return { grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true } };
}
