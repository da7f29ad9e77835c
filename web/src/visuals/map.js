// map: points at (fields.lat, fields.lng) on the world's outline (Natural Earth 1:110m from
// world-atlas, bundled: no tile server, no token), fields.label in the tooltip.
import { echarts, makeChart } from './echarts.js';
import { sizer, text } from './data.js';

let worldReady = null;

// Registers the "world" map once (the outline is a separate chunk, loaded on first use).
function loadWorld() {
  if (!worldReady) {
    worldReady = Promise.all([import('world-atlas/countries-110m.json'), import('topojson-client')]).then(
      ([atlas, topojson]) => {
        const topology = atlas.default || atlas;
        const world = topojson.feature(topology, topology.objects.countries);
        // Antarctica's ring runs along the map's bottom edge as a stray line: leave it out.
        world.features = world.features.filter((f) => (f.properties || {}).name !== 'Antarctica');
        for (const feature of world.features) unwrapAntimeridian(feature.geometry);
        echarts.registerMap('world', world);
      },
    );
  }
  return worldReady;
}

// Rings that cross the antimeridian (Russia's far east, Fiji) would be drawn as lines across the
// whole map: their western longitudes are moved past +180 instead, just beyond the right edge.
function unwrapAntimeridian(geometry) {
  if (!geometry) return;
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.type === 'MultiPolygon' ? geometry.coordinates : [];
  for (const polygon of polygons) {
    for (const ring of polygon) {
      if (!(ring.some((p) => p[0] > 150) && ring.some((p) => p[0] < -150))) continue;
      for (const p of ring) if (p[0] < 0) p[0] += 360;
    }
  }
}

export async function render({ body, data, drill }) {
  const lat = data.pick(['lat', 'latitude']);
  const lng = data.pick(['lng', 'lon', 'longitude']);
  const li = data.pick(['label', 'name'], false);
  const size = sizer(data.rows, data.pick(['size'], false));
  await loadWorld();
  // A newer run replaced this one's container while the outline loaded: draw nothing.
  if (!body.isConnected) return { marks: 0 };
  const points = [];
  data.rows.forEach((row, r) => {
    const y = Number(row[lat]);
    const x = Number(row[lng]);
    if (row[lat] === null || row[lng] === null || !Number.isFinite(x) || !Number.isFinite(y)) return;
    if (Math.abs(y) > 90 || Math.abs(x) > 180) return;
    points.push({ value: [x, y], name: li >= 0 ? text(row[li]) : '', row: r, size: size(row) });
  });
  const handle = makeChart(
    body,
    {
      tooltip: {
        renderMode: 'richText',
        confine: true,
        formatter: (p) => (p.data ? `${p.data.name ? p.data.name + '\n' : ''}${p.data.value[1].toFixed(3)}, ${p.data.value[0].toFixed(3)}` : p.name),
      },
      geo: {
        map: 'world',
        roam: true,
        silent: true,
        itemStyle: { areaColor: '#eef1f4', borderColor: '#9aa5b1' },
        emphasis: { disabled: true },
      },
      series: [{ type: 'scatter', coordinateSystem: 'geo', data: points, symbolSize: (v, p) => (p.data ? p.data.size : 9), itemStyle: { color: '#b8405e' } }],
    },
    drill ? (p) => p.data && p.data.row !== undefined && drill(p.data.row) : null,
  );
  return { marks: points.length, chart: handle };
}
