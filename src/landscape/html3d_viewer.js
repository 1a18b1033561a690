// The 3-D surface viewer of `landscape html3d`: a canvas 2-D mesh, no library, no network.
// Reads the JSON of <script id="surface-data">: x, y (coordinates), z (rows of len(x), null
// where there is no value), name, xlabel, ylabel, title, log. Drag (or one finger) rotates,
// the wheel (or +/-) zooms, the arrow keys rotate, "r" resets the view.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("surface-data").textContent);
  var canvas = document.getElementById("view");
  var info = document.getElementById("info");
  var ctx = canvas.getContext("2d");
  var nx = data.x.length, ny = data.y.length;
  var HOME = { yaw: -0.7, pitch: 0.6, zoom: 1.0 };
  var view = { yaw: HOME.yaw, pitch: HOME.pitch, zoom: HOME.zoom };
  var VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

  function range(values) {
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) {
      if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    });
    return [lo, hi];
  }
  var flat = [].concat.apply([], data.z);
  var zr = range(flat), xr = range(data.x), yr = range(data.y);
  function unit(v, r) { return r[1] > r[0] ? 2 * (v - r[0]) / (r[1] - r[0]) - 1 : 0; }
  function height(v) { return r01(v) * 1.2 - 0.6; }
  function r01(v) { return zr[1] > zr[0] ? (v - zr[0]) / (zr[1] - zr[0]) : 0.5; }

  function colour(t) {
    t = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
    var k = Math.min(Math.floor(t), VIRIDIS.length - 2), f = t - k;
    var a = VIRIDIS[k], b = VIRIDIS[k + 1];
    return "rgb(" + [0, 1, 2].map(function (c) {
      return Math.round(a[c] + f * (b[c] - a[c]));
    }).join(",") + ")";
  }

  // the points in model space: x, y in [-1, 1], height in [-0.6, 0.6]
  var points = [];
  for (var j = 0; j < ny; j++) {
    for (var i = 0; i < nx; i++) {
      var v = data.z[j][i];
      var ok = v !== null && isFinite(v);
      points.push(ok ? [unit(data.x[i], xr), unit(data.y[j], yr), height(v), v] : null);
    }
  }

  function project(p, w, h) {
    var cy = Math.cos(view.yaw), sy = Math.sin(view.yaw);
    var cp = Math.cos(view.pitch), sp = Math.sin(view.pitch);
    var X = p[0] * cy - p[1] * sy, Y = p[0] * sy + p[1] * cy, Z = p[2];
    var depth = Y * cp - Z * sp, up = Y * sp + Z * cp;
    var f = 5 / (5 + depth), k = 0.28 * Math.min(w, h) * view.zoom;
    return [w / 2 + X * k * f, h / 2 - up * k * f, depth];
  }

  function draw() {
    var ratio = (typeof window !== "undefined" && window.devicePixelRatio) || 1;
    var w = canvas.clientWidth || 800, h = canvas.clientHeight || 600;
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, w, h);
    var shown = points.map(function (p) { return p && project(p, w, h); });
    var cells = [];
    for (var j = 0; j + 1 < ny; j++) {
      for (var i = 0; i + 1 < nx; i++) {
        var ids = [j * nx + i, j * nx + i + 1, (j + 1) * nx + i + 1, (j + 1) * nx + i];
        if (ids.every(function (k) { return points[k]; })) {
          var depth = 0, t = 0;
          ids.forEach(function (k) { depth += shown[k][2]; t += r01(points[k][3]); });
          cells.push({ ids: ids, depth: depth / 4, t: t / 4 });
        }
      }
    }
    cells.sort(function (a, b) { return b.depth - a.depth; });  // far cells first
    ctx.lineWidth = 0.5;
    ctx.strokeStyle = "rgba(0, 0, 0, 0.25)";
    cells.forEach(function (c) {
      ctx.beginPath();
      c.ids.forEach(function (k, n) {
        var s = shown[k];
        if (n === 0) { ctx.moveTo(s[0], s[1]); } else { ctx.lineTo(s[0], s[1]); }
      });
      ctx.closePath();
      ctx.fillStyle = colour(c.t);
      ctx.fill();
      ctx.stroke();
    });
    axes(w, h);
    return cells.length;
  }

  function axes(w, h) {
    var o = project([-1, -1, -0.6], w, h);
    var ends = [[[1, -1, -0.6], data.xlabel], [[-1, 1, -0.6], data.ylabel],
                [[-1, -1, 0.6], data.name + (data.log ? " (log10)" : "")]];
    ctx.strokeStyle = "#333333";
    ctx.fillStyle = "#333333";
    ctx.lineWidth = 1;
    ctx.font = "13px sans-serif";
    ends.forEach(function (e) {
      var s = project(e[0], w, h);
      ctx.beginPath();
      ctx.moveTo(o[0], o[1]);
      ctx.lineTo(s[0], s[1]);
      ctx.stroke();
      ctx.fillText(e[1], s[0] + 4, s[1] - 4);
    });
  }

  function redraw() {
    var cells = draw();
    if (info) {
      info.textContent = data.title + ": " + data.name + " from " + zr[0].toPrecision(4) +
        " to " + zr[1].toPrecision(4) + " (" + cells + " cells). Drag to rotate, " +
        "wheel or +/- to zoom, r to reset.";
    }
  }

  function turn(dx, dy) {
    view.yaw += dx * 0.01;
    view.pitch = Math.max(0.05, Math.min(1.55, view.pitch + dy * 0.01));
    redraw();
  }
  function zoom(factor) {
    view.zoom = Math.max(0.2, Math.min(8, view.zoom * factor));
    redraw();
  }

  var last = null;
  canvas.addEventListener("mousedown", function (e) { last = [e.clientX, e.clientY]; });
  window.addEventListener("mouseup", function () { last = null; });
  window.addEventListener("mousemove", function (e) {
    if (last) { turn(e.clientX - last[0], e.clientY - last[1]); last = [e.clientX, e.clientY]; }
  });
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    zoom(Math.exp(-e.deltaY * 0.001));
  }, { passive: false });
  canvas.addEventListener("touchstart", function (e) {
    var t = e.touches[0];
    last = [t.clientX, t.clientY];
  });
  canvas.addEventListener("touchmove", function (e) {
    e.preventDefault();
    var t = e.touches[0];
    if (last) { turn(t.clientX - last[0], t.clientY - last[1]); }
    last = [t.clientX, t.clientY];
  }, { passive: false });
  window.addEventListener("keydown", function (e) {
    var keys = { ArrowLeft: [-10, 0], ArrowRight: [10, 0], ArrowUp: [0, -10], ArrowDown: [0, 10] };
    if (keys[e.key]) { turn(keys[e.key][0], keys[e.key][1]); }
    if (e.key === "+" || e.key === "=") { zoom(1.1); }
    if (e.key === "-") { zoom(1 / 1.1); }
    if (e.key === "r") {
      view.yaw = HOME.yaw; view.pitch = HOME.pitch; view.zoom = HOME.zoom;
      redraw();
    }
  });
  window.addEventListener("resize", redraw);
  window.landscapeViewer = { draw: draw, view: view, turn: turn, zoom: zoom };
  redraw();
}());
