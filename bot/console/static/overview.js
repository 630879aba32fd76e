// The overview: a click on a row drills down (or opens the team page), a click on a column's
// header sorts the table by it (again: the other way), and the places' bars are drawn with
// ECharts from the figures the page carries.
(function () {
  "use strict";

  function sortBy(table, header) {
    var column = Array.prototype.indexOf.call(header.parentNode.children, header);
    var numeric = header.getAttribute("data-type") === "num";
    var descending = header.getAttribute("aria-sort") === "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[column].getAttribute("data-value");
      var y = b.cells[column].getAttribute("data-value");
      var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y, document.documentElement.lang);
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(header.parentNode.children, function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (header) {
      header.tabIndex = 0;
      header.addEventListener("click", function () { sortBy(table, header); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(table, header); }
      });
    });
    table.querySelectorAll("tbody tr[data-href]").forEach(function (row) {
      row.addEventListener("click", function (event) {
        if (event.target.closest("a")) { return; }  // the link itself goes there
        window.location.href = row.getAttribute("data-href");
      });
    });
  });

  var holder = document.getElementById("places-chart");
  var data = document.getElementById("overview-chart");
  if (!holder || !data || typeof window.echarts === "undefined") { return; }
  var figures = JSON.parse(data.textContent);
  var font = getComputedStyle(document.body).fontFamily;
  holder.style.height = Math.max(240, 60 + 32 * figures.names.length) + "px";  // a bar each
  var chart = window.echarts.init(holder, null, { renderer: "canvas" });
  chart.setOption({
    textStyle: { fontFamily: font },
    tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null ? "—" : v + "%"; } },
    legend: { top: 0, textStyle: { fontFamily: font } },
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
    yAxis: { type: "category", inverse: true, data: figures.names, axisLabel: { fontFamily: font } },
    series: figures.series.map(function (s) {
      return { type: "bar", name: s.name, data: s.values };
    })
  });
  window.addEventListener("resize", function () { chart.resize(); });
}());
