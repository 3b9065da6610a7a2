/* django-cache-admin console: the dashboard chart, the analysis report's bar charts, and
   cross-tab refresh after actions. */
(function () {
  "use strict";

  var chart = null;

  function seconds(stamp) {
    return typeof stamp === "number" ? stamp : new Date(stamp).getTime() / 1000;
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function clock(stamp, withSeconds) {
    var when = new Date(stamp * 1000);
    var text = two(when.getHours()) + ":" + two(when.getMinutes());
    return withSeconds ? text + ":" + two(when.getSeconds()) : text;
  }

  // A tick every step seconds, the step chosen for the window: at most about seven ticks,
  // each a distinct time (seconds shown only when the step is below a minute).
  var STEPS = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

  function tickStep(span) {
    for (var i = 0; i < STEPS.length; i++) {
      if (span / STEPS[i] <= 7) { return STEPS[i]; }
    }
    return STEPS[STEPS.length - 1];
  }

  // Chart.js wants colours it can parse; the theme's variables may be oklch(): the
  // browser paints one pixel and reads it back as rgb.
  function themeColour(node, name, fallback) {
    var value = window.getComputedStyle(node).getPropertyValue(name).trim();
    if (!value) { return fallback; }
    var pixel = document.createElement("canvas").getContext("2d");
    if (!pixel) { return fallback; }
    pixel.fillStyle = fallback;
    pixel.fillStyle = value;
    pixel.fillRect(0, 0, 1, 1);
    var rgb = pixel.getImageData(0, 0, 1, 1).data;
    return "rgb(" + rgb[0] + ", " + rgb[1] + ", " + rgb[2] + ")";
  }

  function history() {
    var node = document.getElementById("cache-admin-history");
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function xScale(points) {
    var first = points.length ? seconds(points[0].t) : 0;
    var last = points.length ? seconds(points[points.length - 1].t) : 0;
    var step = tickStep(Math.max(1, last - first));
    return {
      type: "linear", min: first, max: last,
      ticks: { stepSize: step, includeBounds: false, maxRotation: 0,
               callback: function (value) { return clock(value, step < 60); } }
    };
  }

  function drawChart() {
    var canvas = document.getElementById("cache-admin-chart");
    var points = history();
    if (!canvas || !points || typeof window.Chart === "undefined") { return; }
    var hits = points.map(function (p) { return { x: seconds(p.t), y: p.hit_rate }; });
    var ops = points.map(function (p) { return { x: seconds(p.t), y: p.ops }; });
    if (chart) {
      // Updated in place: no new canvas, no animation, the legend state is kept.
      chart.data.datasets[0].data = hits;
      chart.data.datasets[1].data = ops;
      chart.options.scales.x = xScale(points);
      chart.update("none");
      return;
    }
    var rate = themeColour(canvas, "--ca-chart-rate", "#417690");
    var perSecond = themeColour(canvas, "--ca-chart-ops", "#79aec8");
    chart = new window.Chart(canvas, {
      type: "line",
      data: {
        datasets: [
          { label: canvas.dataset.hitLabel || "Hit rate (%)", data: hits, yAxisID: "rate",
            borderColor: rate, backgroundColor: rate, pointRadius: 2, spanGaps: true },
          { label: canvas.dataset.opsLabel || "Operations/s", data: ops, yAxisID: "ops",
            borderColor: perSecond, backgroundColor: perSecond, pointRadius: 2, spanGaps: true }
        ]
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { tooltip: { callbacks: { title: function (items) {
          return items.length ? clock(items[0].parsed.x, true) : "";
        } } } },
        scales: {
          x: xScale(points),
          rate: { type: "linear", position: "left", min: 0, max: 100,
                  title: { display: true, text: "%" } },
          ops: { type: "linear", position: "right", beginAtZero: true,
                 grid: { drawOnChartArea: false }, title: { display: true, text: "ops/s" } }
        }
      }
    });
  }

  // Bar charts whose data sits in a json_script named by the canvas's data-ca-chart:
  // {labels, datasets: [{label, data, colour: "--css-variable"}], max, stacked, horizontal}.
  function drawBarCharts() {
    if (typeof window.Chart === "undefined") { return; }
    var canvases = document.querySelectorAll("canvas[data-ca-chart]");
    Array.prototype.forEach.call(canvases, function (canvas) {
      var node = document.getElementById(canvas.dataset.caChart);
      if (!node || window.Chart.getChart(canvas)) { return; }
      var spec;
      try { spec = JSON.parse(node.textContent); } catch (e) { return; }
      var stacked = !!spec.stacked;
      var value = { beginAtZero: true, stacked: stacked, max: spec.max };
      var category = { stacked: stacked };
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: spec.labels,
          datasets: spec.datasets.map(function (set) {
            var colour = themeColour(canvas, set.colour, "#417690");
            return { label: set.label, data: set.data, backgroundColor: colour, borderColor: colour };
          })
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          indexAxis: spec.horizontal ? "y" : "x",
          scales: spec.horizontal ? { x: value, y: category } : { x: category, y: value }
        }
      });
    });
  }

  // An action done in one tab refreshes a dashboard open in another at once.
  var channel = "BroadcastChannel" in window ? new BroadcastChannel("cache-admin") : null;

  function announceChange() {
    if (channel && document.querySelector("[data-cache-admin-changed]")) {
      channel.postMessage("changed");
    }
  }

  function refreshStats() {
    var stats = document.getElementById("cache-admin-stats");
    if (stats && window.htmx) { window.htmx.trigger(stats, "cacheAdminRefresh"); }
  }

  if (channel) { channel.onmessage = refreshStats; }

  document.addEventListener("DOMContentLoaded", function () {
    drawChart();
    drawBarCharts();
    announceChange();
  });
  // A change can also land later in a swapped fragment (a background deletion ending).
  document.addEventListener("htmx:afterSettle", function (event) {
    drawChart();
    var elt = event.detail && event.detail.elt;
    if (channel && elt && elt.querySelector && elt.querySelector("[data-cache-admin-changed]")) {
      channel.postMessage("changed");
    }
  });
})();
