// obs 3D point cloud: a Streamlit component (components v1 protocol in plain JS; no build step, no network).
//
// Streamlit -> here: {type: "streamlit:render", args: {spec, overlay, height, camera_key, renderer}, theme}
//   spec     a plotly figure (JSON) of go.Scatter3d traces: x/y/z (plotly typed arrays or lists), customdata
//            (row ids), hovertext, marker.color/size/symbol, name, legendgroup; layout.legend.title.text.
//   overlay  a JSON list of more Scatter3d traces drawn on top (the selected points as rings).
//   renderer "points" (default): a small WebGL point renderer (gl.POINTS, one draw call per group) that draws
//            the same traces with the same colours, legend, hover text and clicks, and keeps rotating smoothly
//            with tens of thousands of points even on software WebGL; "plotly": plotly.js's own gl3d scene
//            (plotly.min.js from the installed plotly package, loaded only then).
// here -> Streamlit: componentReady, setFrameHeight, and on a click on a point
//   setComponentValue({row_id, nonce}) (the nonce makes every click a new value).
(function () {
  "use strict";

  var root = document.getElementById("root");
  var statusEl = document.getElementById("status");
  var api = window.cloud3d = { ready: false, renders: 0, frames: 0, clicks: 0, lastClick: null, lastHover: null,
                               renderMs: null, renderer: null, screenOf: null, visibleRowIds: null };
  var clickCount = 0;

  function send(type, data) {
    var msg = { isStreamlitMessage: true, type: type };
    for (var k in data) { if (Object.prototype.hasOwnProperty.call(data, k)) { msg[k] = data[k]; } }
    window.parent.postMessage(msg, "*");
  }

  function sendClick(rowId) {
    clickCount += 1;
    var value = { row_id: rowId, nonce: Date.now() + "-" + clickCount };
    api.clicks = clickCount;
    api.lastClick = value;
    send("streamlit:setComponentValue", { value: value, dataType: "json" });
  }

  function loadCamera(key) {
    try { var s = window.sessionStorage.getItem(key); return s ? JSON.parse(s) : null; } catch (e) { return null; }
  }

  function saveCamera(key, cam) {
    try { window.sessionStorage.setItem(key, JSON.stringify(cam)); } catch (e) { /* storage off */ }
  }

  // ---- plotly JSON helpers ----------------------------------------------------------------------------
  var DTYPES = { f4: Float32Array, f8: Float64Array, i1: Int8Array, u1: Uint8Array, i2: Int16Array,
                 u2: Uint16Array, i4: Int32Array, u4: Uint32Array, u1c: Uint8ClampedArray };

  function values(v) {
    if (v === undefined || v === null) { return null; }
    if (Array.isArray(v) || ArrayBuffer.isView(v)) { return v; }
    if (typeof v === "object" && typeof v.bdata === "string") {
      var bin = atob(v.bdata), n = bin.length, bytes = new Uint8Array(n);
      for (var i = 0; i < n; i++) { bytes[i] = bin.charCodeAt(i); }
      if (v.dtype === "i8" || v.dtype === "u8") {
        var big = v.dtype === "i8" ? new BigInt64Array(bytes.buffer) : new BigUint64Array(bytes.buffer);
        return Array.from(big, Number);
      }
      var T = DTYPES[v.dtype] || Float64Array;
      return new T(bytes.buffer);
    }
    return null;
  }

  function rgb(color) {
    var c = String(color || "#6B7280").trim();
    var m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(c);
    if (m) {
      var h = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
      return [parseInt(h.slice(0, 2), 16) / 255, parseInt(h.slice(2, 4), 16) / 255, parseInt(h.slice(4, 6), 16) / 255];
    }
    m = /^rgba?\(([^)]+)\)$/i.exec(c);
    if (m) { var p = m[1].split(","); return [p[0] / 255, p[1] / 255, p[2] / 255]; }
    return [0.42, 0.45, 0.5];
  }

  // =======================================================================================================
  // Renderer 1: WebGL points
  // =======================================================================================================
  var VS = "attribute vec3 a_pos; attribute vec3 a_col; uniform mat4 u_mvp; uniform float u_size;" +
           "varying vec3 v_col; void main() { gl_Position = u_mvp * vec4(a_pos, 1.0);" +
           " gl_PointSize = u_size; v_col = a_col; }";
  var FS = "precision mediump float; varying vec3 v_col; uniform float u_ring; uniform vec3 u_line;" +
           "void main() { vec2 d = gl_PointCoord - vec2(0.5); float r = dot(d, d);" +
           " if (r > 0.25) discard;" +
           " if (u_ring > 0.5) { if (r < 0.12) discard; gl_FragColor = vec4(u_line, 1.0); }" +
           " else { gl_FragColor = vec4(v_col, 1.0); } }";
  var LINE_VS = "attribute vec3 a_pos; uniform mat4 u_mvp; void main() { gl_Position = u_mvp * vec4(a_pos, 1.0); }";
  var LINE_FS = "precision mediump float; uniform vec3 u_line; void main() { gl_FragColor = vec4(u_line, 1.0); }";

  function mat4Multiply(a, b) {
    var o = new Float32Array(16);
    for (var c = 0; c < 4; c++) {
      for (var r = 0; r < 4; r++) {
        o[c * 4 + r] = a[r] * b[c * 4] + a[4 + r] * b[c * 4 + 1] + a[8 + r] * b[c * 4 + 2] + a[12 + r] * b[c * 4 + 3];
      }
    }
    return o;
  }

  function perspective(fovy, aspect, near, far) {
    var f = 1 / Math.tan(fovy / 2), nf = 1 / (near - far), o = new Float32Array(16);
    o[0] = f / aspect; o[5] = f; o[10] = (far + near) * nf; o[11] = -1; o[14] = 2 * far * near * nf;
    return o;
  }

  function lookAt(eye, target, up) {
    var zx = eye[0] - target[0], zy = eye[1] - target[1], zz = eye[2] - target[2];
    var l = Math.hypot(zx, zy, zz) || 1; zx /= l; zy /= l; zz /= l;
    var xx = up[1] * zz - up[2] * zy, xy = up[2] * zx - up[0] * zz, xz = up[0] * zy - up[1] * zx;
    l = Math.hypot(xx, xy, xz) || 1; xx /= l; xy /= l; xz /= l;
    var yx = zy * xz - zz * xy, yy = zz * xx - zx * xz, yz = zx * xy - zy * xx;
    var o = new Float32Array(16);
    o[0] = xx; o[1] = yx; o[2] = zx; o[4] = xy; o[5] = yy; o[6] = zy; o[8] = xz; o[9] = yz; o[10] = zz;
    o[12] = -(xx * eye[0] + xy * eye[1] + xz * eye[2]);
    o[13] = -(yx * eye[0] + yy * eye[1] + yz * eye[2]);
    o[14] = -(zx * eye[0] + zy * eye[1] + zz * eye[2]);
    o[15] = 1;
    return o;
  }

  function PointsView(container) {
    var self = this;
    this.container = container;
    container.innerHTML = "";
    container.className = "points-view";
    this.canvas = document.createElement("canvas");
    this.legend = document.createElement("div");
    this.legend.className = "legend";
    this.tip = document.createElement("div");
    this.tip.className = "tip";
    container.appendChild(this.canvas);
    container.appendChild(this.legend);
    container.appendChild(this.tip);
    var gl = this.gl = this.canvas.getContext("webgl", { antialias: false, alpha: false, preserveDrawingBuffer: true });
    if (!gl) { throw new Error("WebGL is not available in this browser"); }
    this.prog = this.program(VS, FS);
    this.lineProg = this.program(LINE_VS, LINE_FS);
    this.posBuf = gl.createBuffer();
    this.colBuf = gl.createBuffer();
    this.boxBuf = gl.createBuffer();
    this.groups = [];
    this.n = 0;
    this.cam = this.defaultCamera();
    this.dirty = true;
    this.frameRequested = false;
    this.cameraKey = null;
    this.background = [1, 1, 1];
    this.bindEvents();
    var box = [];   // the cube [-1, 1]^3: 12 edges
    var c = [-1, 1];
    for (var a = 0; a < 2; a++) { for (var b = 0; b < 2; b++) {
      box.push(-1, c[a], c[b], 1, c[a], c[b]);
      box.push(c[a], -1, c[b], c[a], 1, c[b]);
      box.push(c[a], c[b], -1, c[a], c[b], 1);
    } }
    gl.bindBuffer(gl.ARRAY_BUFFER, this.boxBuf);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array(box), gl.STATIC_DRAW);
    new ResizeObserver(function () { self.resize(); }).observe(container);
  }

  PointsView.prototype.program = function (vs, fs) {
    var gl = this.gl;
    function shader(type, src) {
      var s = gl.createShader(type);
      gl.shaderSource(s, src);
      gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) { throw new Error(gl.getShaderInfoLog(s)); }
      return s;
    }
    var p = gl.createProgram();
    gl.attachShader(p, shader(gl.VERTEX_SHADER, vs));
    gl.attachShader(p, shader(gl.FRAGMENT_SHADER, fs));
    gl.linkProgram(p);
    return p;
  };

  PointsView.prototype.defaultCamera = function () {
    return { yaw: Math.PI / 4, pitch: 0.42, dist: 4.3, target: [0, 0, 0] };
  };

  // Traces -> one vertex buffer; each trace is a group drawn with one drawArrays call.
  PointsView.prototype.setData = function (baseTraces, overlayTraces, layout) {
    var traces = [], i, t;
    for (i = 0; i < baseTraces.length; i++) { traces.push({ t: baseTraces[i], overlay: false }); }
    for (i = 0; i < overlayTraces.length; i++) { traces.push({ t: overlayTraces[i], overlay: true }); }
    var decoded = [], total = 0;
    for (i = 0; i < traces.length; i++) {
      t = traces[i].t;
      var x = values(t.x) || [], y = values(t.y) || [], z = values(t.z) || [];
      var n = Math.min(x.length, y.length, z.length);
      decoded.push({ x: x, y: y, z: z, n: n, ids: values(t.customdata) || [], hover: t.hovertext || null });
      total += n;
    }
    // Per-axis scaling of the base points to [-1, 1] (plotly's aspectmode "cube"); kept while only the overlay
    // changes, so rings stay on their points.
    if (baseTraces !== this.baseRef) {
      var lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
      for (i = 0; i < baseTraces.length; i++) {
        var d = decoded[i];
        for (var k = 0; k < d.n; k++) {
          var v = [d.x[k], d.y[k], d.z[k]];
          for (var a = 0; a < 3; a++) { if (v[a] < lo[a]) { lo[a] = v[a]; } if (v[a] > hi[a]) { hi[a] = v[a]; } }
        }
      }
      this.centre = [0, 1, 2].map(function (a) { return isFinite(lo[a]) ? (lo[a] + hi[a]) / 2 : 0; });
      this.scale = [0, 1, 2].map(function (a) { return isFinite(lo[a]) && hi[a] > lo[a] ? 2 / (hi[a] - lo[a]) : 1; });
      this.baseRef = baseTraces;
    }
    var pos = new Float32Array(total * 3), col = new Float32Array(total * 3), off = 0, self = this;
    var hiddenBefore = {};
    this.groups.forEach(function (g) { if (!g.visible) { hiddenBefore[g.key] = true; } });
    this.groups = [];
    for (i = 0; i < traces.length; i++) {
      t = traces[i].t;
      var dd = decoded[i], marker = t.marker || {}, color = rgb(marker.color);
      for (var j = 0; j < dd.n; j++) {
        pos[(off + j) * 3] = (dd.x[j] - this.centre[0]) * this.scale[0];
        pos[(off + j) * 3 + 1] = (dd.y[j] - this.centre[1]) * this.scale[1];
        pos[(off + j) * 3 + 2] = (dd.z[j] - this.centre[2]) * this.scale[2];
        col[(off + j) * 3] = color[0]; col[(off + j) * 3 + 1] = color[1]; col[(off + j) * 3 + 2] = color[2];
      }
      var key = t.legendgroup || t.name || ("trace " + i);
      var ring = traces[i].overlay || /open/.test(String(marker.symbol || ""));
      this.groups.push({ key: key, name: t.name || key, color: marker.color || (marker.line || {}).color || "#111827",
                         start: off, count: dd.n, size: Number(marker.size) || 3, ring: ring, overlay: traces[i].overlay,
                         lineColor: rgb((marker.line && marker.line.color) || marker.color || "#111827"),
                         ids: dd.ids, hover: dd.hover, visible: !hiddenBefore[key] });
      off += dd.n;
    }
    this.pos = pos;
    this.n = total;
    var gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.posBuf);
    gl.bufferData(gl.ARRAY_BUFFER, pos, gl.STATIC_DRAW);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.colBuf);
    gl.bufferData(gl.ARRAY_BUFFER, col, gl.STATIC_DRAW);
    this.renderLegend(layout);
    this.resize();
  };

  PointsView.prototype.renderLegend = function (layout) {
    var self = this, leg = this.legend, title = ((layout.legend || {}).title || {}).text || "";
    leg.innerHTML = "";
    if (title) {
      var h = document.createElement("div");
      h.className = "legend-title";
      h.textContent = title.replace(/<[^>]*>/g, "");
      leg.appendChild(h);
    }
    this.groups.forEach(function (g) {
      if (g.count === 0) { return; }
      var item = document.createElement("div");
      item.className = "legend-item" + (g.visible ? "" : " hidden");
      var sw = document.createElement("span");
      sw.className = "swatch" + (g.ring ? " ring" : "");
      sw.style[g.ring ? "borderColor" : "backgroundColor"] = g.color;
      var label = document.createElement("span");
      label.textContent = g.name;
      item.appendChild(sw);
      item.appendChild(label);
      item.title = "Click to hide or show; double-click to show only this group";
      var timer = null;
      item.addEventListener("click", function () {
        if (timer) { return; }
        timer = setTimeout(function () { timer = null; g.visible = !g.visible; self.renderLegend(layout); self.redraw(); }, 220);
      });
      item.addEventListener("dblclick", function () {
        clearTimeout(timer); timer = null;
        var only = self.groups.every(function (o) { return o === g || !o.visible || o.overlay; }) && g.visible;
        self.groups.forEach(function (o) { if (!o.overlay) { o.visible = only ? true : o === g; } });
        self.renderLegend(layout); self.redraw();
      });
      leg.appendChild(item);
    });
  };

  // The canvas takes the width the legend (on the right) leaves free, so the legend never covers points.
  PointsView.prototype.resize = function () {
    var dpr = window.devicePixelRatio || 1;
    var legendW = this.legend.childElementCount ? this.legend.offsetWidth + 8 : 0;
    var w = Math.max(1, this.container.clientWidth - legendW), h = Math.max(1, this.container.clientHeight);
    this.cssW = w;
    this.cssH = h;
    this.canvas.style.width = w + "px";
    this.canvas.style.height = h + "px";
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    this.redraw();
  };

  PointsView.prototype.eye = function () {
    var c = this.cam, cp = Math.cos(c.pitch);
    return [c.target[0] + c.dist * cp * Math.cos(c.yaw), c.target[1] + c.dist * cp * Math.sin(c.yaw),
            c.target[2] + c.dist * Math.sin(c.pitch)];
  };

  PointsView.prototype.mvp = function () {
    var w = this.canvas.width, h = this.canvas.height;
    var aspect = w / h, fovy = 0.7;
    if (aspect < 1) { fovy = 2 * Math.atan(Math.tan(fovy / 2) / aspect); }   // keep the width in view too
    var proj = perspective(fovy, aspect, 0.05, 100);
    var view = lookAt(this.eye(), this.cam.target, [0, 0, 1]);
    return mat4Multiply(proj, view);
  };

  PointsView.prototype.redraw = function () {
    var self = this;
    this.dirty = true;
    if (this.frameRequested) { return; }
    this.frameRequested = true;
    requestAnimationFrame(function () { self.frameRequested = false; if (self.dirty) { self.draw(); } });
  };

  PointsView.prototype.draw = function () {
    var gl = this.gl, dpr = window.devicePixelRatio || 1;
    this.dirty = false;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(this.background[0], this.background[1], this.background[2], 1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.enable(gl.DEPTH_TEST);
    var m = this.mvp();
    this.lastMvp = m;
    // the box
    gl.useProgram(this.lineProg);
    gl.uniformMatrix4fv(gl.getUniformLocation(this.lineProg, "u_mvp"), false, m);
    gl.uniform3fv(gl.getUniformLocation(this.lineProg, "u_line"), this.boxColor || [0.85, 0.88, 0.92]);
    var lp = gl.getAttribLocation(this.lineProg, "a_pos");
    gl.bindBuffer(gl.ARRAY_BUFFER, this.boxBuf);
    gl.enableVertexAttribArray(lp);
    gl.vertexAttribPointer(lp, 3, gl.FLOAT, false, 0, 0);
    gl.drawArrays(gl.LINES, 0, 24);
    gl.disableVertexAttribArray(lp);
    // the points, group by group
    var p = this.prog;
    gl.useProgram(p);
    gl.uniformMatrix4fv(gl.getUniformLocation(p, "u_mvp"), false, m);
    var ap = gl.getAttribLocation(p, "a_pos"), ac = gl.getAttribLocation(p, "a_col");
    gl.bindBuffer(gl.ARRAY_BUFFER, this.posBuf);
    gl.enableVertexAttribArray(ap);
    gl.vertexAttribPointer(ap, 3, gl.FLOAT, false, 0, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.colBuf);
    gl.enableVertexAttribArray(ac);
    gl.vertexAttribPointer(ac, 3, gl.FLOAT, false, 0, 0);
    var uSize = gl.getUniformLocation(p, "u_size"), uRing = gl.getUniformLocation(p, "u_ring");
    var uLine = gl.getUniformLocation(p, "u_line");
    for (var i = 0; i < this.groups.length; i++) {
      var g = this.groups[i];
      if (!g.visible || !g.count) { continue; }
      gl.uniform1f(uSize, Math.max(2, g.size * 1.8) * dpr);
      gl.uniform1f(uRing, g.ring ? 1 : 0);
      gl.uniform3fv(uLine, g.lineColor);
      gl.drawArrays(gl.POINTS, g.start, g.count);
    }
    api.frames += 1;
  };

  // The front-most visible base point within a few pixels of (mx, my) (CSS px in the canvas), or null.
  PointsView.prototype.pick = function (mx, my) {
    var m = this.lastMvp || this.mvp(), w = this.cssW, h = this.cssH;
    var best = null, bestDepth = Infinity, pos = this.pos;
    for (var gi = 0; gi < this.groups.length; gi++) {
      var g = this.groups[gi];
      if (!g.visible || g.overlay || !g.count) { continue; }
      var r = Math.max(5, g.size * 1.8), r2 = r * r;
      for (var j = 0; j < g.count; j++) {
        var o = (g.start + j) * 3, x = pos[o], y = pos[o + 1], z = pos[o + 2];
        var cw = m[3] * x + m[7] * y + m[11] * z + m[15];
        if (cw <= 0) { continue; }
        var sx = ((m[0] * x + m[4] * y + m[8] * z + m[12]) / cw + 1) / 2 * w;
        var sy = (1 - (m[1] * x + m[5] * y + m[9] * z + m[13]) / cw) / 2 * h;
        var dx = sx - mx, dy = sy - my;
        if (dx * dx + dy * dy > r2) { continue; }
        var depth = (m[2] * x + m[6] * y + m[10] * z + m[14]) / cw;
        if (depth < bestDepth) { bestDepth = depth; best = { group: g, index: j, x: sx, y: sy }; }
      }
    }
    return best;
  };

  PointsView.prototype.screenOf = function (rowId) {
    var m = this.lastMvp || this.mvp(), w = this.cssW, h = this.cssH;
    for (var gi = 0; gi < this.groups.length; gi++) {
      var g = this.groups[gi];
      if (!g.visible || g.overlay) { continue; }
      for (var j = 0; j < g.count; j++) {
        if (Number(g.ids[j]) !== rowId) { continue; }
        var o = (g.start + j) * 3, x = this.pos[o], y = this.pos[o + 1], z = this.pos[o + 2];
        var cw = m[3] * x + m[7] * y + m[11] * z + m[15];
        return { x: ((m[0] * x + m[4] * y + m[8] * z + m[12]) / cw + 1) / 2 * w,
                 y: (1 - (m[1] * x + m[5] * y + m[9] * z + m[13]) / cw) / 2 * h };
      }
    }
    return null;
  };

  PointsView.prototype.showTip = function (hit) {
    var tip = this.tip;
    if (!hit) { tip.style.display = "none"; api.lastHover = null; return; }
    var g = hit.group, html = g.hover ? g.hover[hit.index] : String(g.ids[hit.index]);
    // The hover text comes from obs_core.viz.embeddings.hover_text: data values are HTML-escaped there and
    // only <b>, <i> and <br> are added, so it is shown as markup.
    tip.innerHTML = html;
    tip.style.borderLeftColor = g.color;
    tip.style.display = "block";
    var w = this.container.clientWidth, h = this.container.clientHeight;
    var tx = hit.x + 14, ty = hit.y + 10;
    if (tx + tip.offsetWidth > w - 4) { tx = Math.max(4, hit.x - tip.offsetWidth - 14); }
    if (ty + tip.offsetHeight > h - 4) { ty = Math.max(4, h - tip.offsetHeight - 4); }
    tip.style.left = tx + "px";
    tip.style.top = ty + "px";
    api.lastHover = { row_id: Number(g.ids[hit.index]), x: hit.x, y: hit.y };
  };

  PointsView.prototype.bindEvents = function () {
    var self = this, c = this.canvas, drag = null, hoverQueued = false, last = null;
    c.addEventListener("contextmenu", function (e) { e.preventDefault(); });
    c.addEventListener("mousedown", function (e) {
      drag = { x: e.clientX, y: e.clientY, sx: e.clientX, sy: e.clientY, moved: 0,
               pan: e.button === 2 || e.shiftKey || e.ctrlKey || e.metaKey };
      self.showTip(null);
      e.preventDefault();
    });
    window.addEventListener("mousemove", function (e) {
      if (drag) {
        var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
        drag.x = e.clientX; drag.y = e.clientY;
        drag.moved += Math.abs(dx) + Math.abs(dy);
        if (drag.moved < 4) { return; }
        if (drag.pan) {
          var s = self.cam.dist * 0.0016, yaw = self.cam.yaw;
          var rx = -Math.sin(yaw), ry = Math.cos(yaw);     // camera right on the ground plane
          self.cam.target[0] -= (rx * dx) * s; self.cam.target[1] -= (ry * dx) * s;
          self.cam.target[2] += dy * s;
        } else {
          self.cam.yaw -= dx * 0.008;
          self.cam.pitch = Math.max(-1.55, Math.min(1.55, self.cam.pitch + dy * 0.008));
        }
        self.redraw();
        return;
      }
      var r = c.getBoundingClientRect();
      if (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom) { return; }
      last = { x: e.clientX - r.left, y: e.clientY - r.top };
      if (hoverQueued) { return; }
      hoverQueued = true;
      requestAnimationFrame(function () { hoverQueued = false; if (last) { self.showTip(self.pick(last.x, last.y)); } });
    });
    window.addEventListener("mouseup", function (e) {
      if (!drag) { return; }
      var d = drag;
      drag = null;
      if (d.moved < 5 && Math.abs(e.clientX - d.sx) + Math.abs(e.clientY - d.sy) < 5) {
        var r = c.getBoundingClientRect(), hit = self.pick(e.clientX - r.left, e.clientY - r.top);
        if (hit) { sendClick(Number(hit.group.ids[hit.index])); self.showTip(hit); }
      } else {
        self.persistCamera();
      }
    });
    c.addEventListener("mouseleave", function () { last = null; self.showTip(null); });
    c.addEventListener("wheel", function (e) {
      e.preventDefault();
      self.cam.dist = Math.max(0.6, Math.min(30, self.cam.dist * Math.exp(e.deltaY * 0.0012)));
      self.redraw();
      clearTimeout(self.wheelTimer);
      self.wheelTimer = setTimeout(function () { self.persistCamera(); }, 300);
    }, { passive: false });
    c.addEventListener("dblclick", function () {
      self.cam = self.defaultCamera();
      self.persistCamera();
      self.redraw();
    });
  };

  PointsView.prototype.persistCamera = function () {
    if (this.cameraKey) { saveCamera(this.cameraKey, this.cam); }
  };

  PointsView.prototype.restoreCamera = function (key) {
    this.cameraKey = key;
    var cam = loadCamera(key);
    if (cam && typeof cam.yaw === "number" && cam.target) { this.cam = cam; }
  };

  // =======================================================================================================
  // Renderer 2: plotly.js gl3d (the same figure, plotly's look)
  // =======================================================================================================
  function loadPlotly(done) {
    if (window.Plotly) { done(); return; }
    var s = document.createElement("script");
    s.src = "plotly.min.js";
    s.onload = done;
    s.onerror = function () { statusEl.textContent = "Could not load plotly.min.js for the 3D view."; };
    document.head.appendChild(s);
  }

  function PlotlyView(container) {
    container.innerHTML = "";
    container.className = "plotly-view";
    this.gd = document.createElement("div");
    container.appendChild(this.gd);
    this.handlers = false;
  }

  PlotlyView.prototype.setData = function (base, overlay, layout, height, cameraKey, done) {
    var self = this, gd = this.gd;
    var lay = Object.assign({}, layout, { height: height, autosize: true });
    if (!gd.layout) {
      var cam = loadCamera(cameraKey + "-plotly");
      if (cam) { lay.scene = Object.assign({}, lay.scene || {}, { camera: cam }); }
    }
    loadPlotly(function () {
      Plotly.react(gd, base.concat(overlay), lay, { displaylogo: false, responsive: true, scrollZoom: true })
        .then(function () { self.attach(cameraKey); done(); });
    });
  };

  PlotlyView.prototype.attach = function (cameraKey) {
    if (this.handlers) { return; }
    this.handlers = true;
    var gd = this.gd, press = null, sent = false, hovered = null;
    function rowIdOf(p) {
      var cd = p && p.customdata;
      if (Array.isArray(cd)) { cd = cd[0]; }
      return (cd === undefined || cd === null || isNaN(Number(cd))) ? null : Number(cd);
    }
    // plotly emits a 3D click only if a frame is drawn while the button is down, which a slow (software) GPU
    // can miss for a quick click: a press that ends within 5 px also counts as a click on the hovered point.
    gd.addEventListener("mousedown", function (e) { press = { x: e.clientX, y: e.clientY }; sent = false; }, true);
    gd.addEventListener("mouseup", function (e) {
      if (press && !sent && hovered !== null && Math.abs(e.clientX - press.x) + Math.abs(e.clientY - press.y) < 5) {
        sent = true; sendClick(hovered);
      }
      press = null;
    }, true);
    gd.on("plotly_click", function (ev) {
      var id = rowIdOf(ev && ev.points && ev.points[0]);
      if (id === null || sent) { return; }
      sent = true; sendClick(id);
    });
    gd.on("plotly_hover", function (ev) {
      hovered = rowIdOf(ev && ev.points && ev.points[0]);
      if (hovered !== null) { api.lastHover = { row_id: hovered, x: null, y: null }; }
    });
    gd.on("plotly_unhover", function () { hovered = null; });
    gd.on("plotly_relayout", function (ev) {
      if (ev && ev["scene.camera"]) { saveCamera(cameraKey + "-plotly", ev["scene.camera"]); }
    });
  };

  // =======================================================================================================
  // Streamlit glue
  // =======================================================================================================
  var state = { spec: null, overlay: null, base: [], extra: [], layout: {}, height: 0, view: null, kind: null };

  function onRender(args, theme) {
    var height = Number(args.height) || 560;
    var kind = args.renderer === "plotly" ? "plotly" : "points";
    var changed = false;
    if (args.spec !== state.spec) {
      var fig = JSON.parse(args.spec || "{}");
      state.spec = args.spec;
      state.base = fig.data || [];
      state.layout = fig.layout || {};
      changed = true;
    }
    if (args.overlay !== state.overlay) {
      state.overlay = args.overlay;
      state.extra = JSON.parse(args.overlay || "[]");
      changed = true;
    }
    if (height !== state.height) {
      state.height = height;
      root.style.height = height + "px";
      changed = true;
    }
    var cameraKey = args.camera_key || "obs-cloud3d";
    if (kind !== state.kind) {
      state.kind = kind;
      api.renderer = kind;
      try {
        state.view = kind === "plotly" ? new PlotlyView(root) : new PointsView(root);
      } catch (e) {
        statusEl.textContent = "The 3D view needs WebGL: " + e.message;
        send("streamlit:setFrameHeight", { height: 80 });
        return;
      }
      if (kind === "points") { state.view.restoreCamera(cameraKey); }
      changed = true;
    }
    var dark = theme && theme.base === "dark";
    if (changed) {
      var t0 = performance.now();
      var finish = function () {
        statusEl.style.display = "none";
        requestAnimationFrame(function () {
          api.renderMs = performance.now() - t0;
          api.renders += 1;
          api.ready = true;
        });
      };
      if (kind === "points") {
        var v = state.view;
        v.background = dark ? rgb(theme.backgroundColor || "#0E1117") : [1, 1, 1];
        v.boxColor = dark ? [0.3, 0.33, 0.38] : [0.85, 0.88, 0.92];
        root.classList.toggle("dark", !!dark);
        v.setData(state.base, state.extra, state.layout);
        v.resize();
        api.screenOf = function (rowId) { return v.screenOf(Number(rowId)); };
        api.visibleRowIds = function () {
          var out = [];
          v.groups.forEach(function (g) { if (g.visible && !g.overlay) { for (var j = 0; j < g.ids.length; j++) { out.push(Number(g.ids[j])); } } });
          return out;
        };
        finish();
      } else {
        state.view.setData(state.base, state.extra, state.layout, height, cameraKey, finish);
      }
    }
    send("streamlit:setFrameHeight", { height: height });
  }

  window.addEventListener("message", function (event) {
    var d = event.data;
    if (d && d.type === "streamlit:render") { onRender(d.args || {}, d.theme); }
  });
  send("streamlit:componentReady", { apiVersion: 1 });
})();
