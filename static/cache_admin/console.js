/* django-cache-admin console: the dashboard chart and cross-tab refresh after actions. */
(function () {
  "use strict";

  var chart = null;

  function label(stamp) {
    var when = typeof stamp === "number" ? new Date(stamp * 1000) : new Date(stamp);
    if (isNaN(when.getTime())) { return String(stamp); }
    return when.toTimeString().slice(0, 5);
  }

  function history() {
    var node = document.getElementById("cache-admin-history");
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function drawChart() {
    var canvas = document.getElementById("cache-admin-chart");
    var points = history();
    if (!canvas || !points || typeof window.Chart === "undefined") { return; }
    var labels = points.map(function (p) { return label(p.t); });
    var hits = points.map(function (p) { return p.hit_rate; });
    var ops = points.map(function (p) { return p.ops; });
    if (chart) {
      // Updated in place: no new canvas, no animation, the legend state is kept.
      chart.data.labels = labels;
      chart.data.datasets[0].data = hits;
      chart.data.datasets[1].data = ops;
      chart.update("none");
      return;
    }
    chart = new window.Chart(canvas, {
      type: "line",
      data: {
        labels: labels,
        datasets: [
          { label: canvas.dataset.hitLabel || "Hit rate (%)", data: hits, yAxisID: "rate",
            borderColor: "#2e7d32", backgroundColor: "#2e7d32", pointRadius: 2, spanGaps: true },
          { label: canvas.dataset.opsLabel || "Operations/s", data: ops, yAxisID: "ops",
            borderColor: "#1565c0", backgroundColor: "#1565c0", pointRadius: 2, spanGaps: true }
        ]
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          rate: { type: "linear", position: "left", min: 0, max: 100,
                  title: { display: true, text: "%" } },
          ops: { type: "linear", position: "right", beginAtZero: true,
                 grid: { drawOnChartArea: false }, title: { display: true, text: "ops/s" } }
        }
      }
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
