/* Draws every <canvas data-chart='{json}'> with the vendored Chart.js, on first load and in
   whatever htmx swaps in later. The config is the server's: {type, labels, datasets, stacked,
   horizontal, percent}. The numbers are also in the table beside each chart. */
(function () {
  "use strict";
  var PALETTE = ["#1f2a44", "#b08a3e", "#3d5a80", "#2e6b3f", "#a86a00", "#b3261e", "#7a6c9d", "#5f6878"];

  function draw(canvas) {
    if (canvas._chart || typeof Chart === "undefined") return;
    var spec = JSON.parse(canvas.getAttribute("data-chart"));
    var datasets = spec.datasets.map(function (set, i) {
      var colour = set.color || PALETTE[i % PALETTE.length];
      return {
        label: set.label, data: set.data, backgroundColor: colour, borderColor: colour,
        borderWidth: spec.type === "line" ? 2 : 0, fill: false, tension: 0.2, pointRadius: 2
      };
    });
    var axis = { stacked: !!spec.stacked, beginAtZero: true, ticks: { precision: 0 } };
    canvas._chart = new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        indexAxis: spec.horizontal ? "y" : "x",
        plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
        scales: { x: axis, y: axis }
      }
    });
    canvas.setAttribute("data-drawn", "true");
  }

  function drawIn(root) {
    if (root.matches && root.matches("canvas[data-chart]")) draw(root);
    if (root.querySelectorAll) root.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  if (typeof htmx !== "undefined") {
    htmx.onLoad(drawIn); // htmx calls it for the page and for each swapped-in element
  } else {
    document.addEventListener("DOMContentLoaded", function () { drawIn(document); });
  }
})();
