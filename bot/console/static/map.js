// The map page: the points embedded in the page as JSON, drawn as circle markers with a popup
// each (who, what, when, a link), on the configured tiles or on a blank background fitted to
// the points. Text goes in with textContent only: names and kinds are never read as HTML.
(function () {
  "use strict";
  var box = document.getElementById("map");
  var data = document.getElementById("map-points");
  if (!box || !data || typeof L === "undefined") { return; }
  var points = JSON.parse(data.textContent);
  var colours = { checkin: "#1565c0", visit: "#c0392b" };
  var map = L.map(box, { zoomSnap: 0.5 });
  var tiles = box.getAttribute("data-tiles");
  if (tiles) {
    L.tileLayer(tiles, {
      attribution: box.getAttribute("data-attribution") || "",
      subdomains: "1234",
      maxZoom: 18
    }).addTo(map);
  }
  function popup(point) {
    var div = document.createElement("div");
    div.className = "map-popup";
    var name = document.createElement("strong");
    name.textContent = point.who;
    div.appendChild(name);
    [point.village, point.what, point.when].forEach(function (text) {
      var line = document.createElement("div");
      line.textContent = text;
      div.appendChild(line);
    });
    var link = document.createElement("a");
    link.href = point.href;
    link.textContent = box.getAttribute("data-open");
    div.appendChild(link);
    return div;
  }
  var bounds = [];
  points.forEach(function (point) {
    var at = [point.lat, point.lon];
    bounds.push(at);
    L.circleMarker(at, {
      radius: 7, weight: 2, color: "#fff", fillColor: colours[point.kind] || "#555",
      fillOpacity: 0.9, className: "point " + point.kind
    }).bindPopup(popup(point)).addTo(map);
  });
  map.fitBounds(L.latLngBounds(bounds), { padding: [24, 24], maxZoom: 16 });
})();
