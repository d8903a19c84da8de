/* gaia-stim explore: the page. Plain JavaScript, no libraries, nothing loaded from elsewhere.
 *
 * The page keeps one description of what it shows (a "spec": kind, sources, the kind's parameters,
 * low-level options) and asks the server for
 *   /api/view   the sources beside their reconstructions (and a wheel's default radius),
 *   /api/frame  one decoded image at the current position (PNG),
 *   /api/steps  the images an export writes, with their positions and step distances,
 *   /api/export the set written by gaia-stim's one writer, and the command line that writes it.
 * Frames: at most one request is in flight; moves made meanwhile are folded into one request sent
 * when the answer arrives (the server also answers only the newest of the requests that waited).
 */
"use strict";
(function () {
  const TOKEN = new URLSearchParams(location.search).get("token") || "";
  if (TOKEN) history.replaceState(null, "", location.pathname);  // keep it out of the address bar
  const CLIENT = Math.random().toString(36).slice(2);
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  const ROLES = {
    continuum: ["A: level 0", "B: level 1"],
    grid: ["A: u 0, v 0", "B: u 1", "C: v 1", "D: corner (optional)"],
    wheel: ["centre", "a: 0°", "b: towards 90°"],
    attribute: ["image"],
  };
  const NEEDED = { continuum: 2, grid: 3, wheel: 3, attribute: 1 };
  const S = {
    view: "continuum",
    active: 0,
    server: null,
    sources: { continuum: [null, null], grid: [null, null, null, null], wheel: [null, null, null], attribute: [null] },
    views: {},
    steps: {},
    position: { continuum: { level: 0.5 }, grid: { u: 0.5, v: 0.5 }, wheel: { angle: 0 }, attribute: { amounts: {} } },
    radius: null,
    axis: null,
    held: [],
    seq: 0,
    inflight: false,
    wanted: false,
    frameUrl: null,
    stepsSeq: 0,
    viewSeq: 0,
  };
  window.gaiaExplore = S;  // for a look from the browser's console

  // ------------------------------------------------------------------ talking to the server

  async function api(path, body, extra) {
    const init = { headers: { "X-Gaia-Stim-Token": TOKEN }, ...(extra || {}) };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (!response.ok) {
      let text = `${response.status} ${response.statusText}`;
      try { text = (await response.json()).error || text; } catch (error) { /* not JSON */ }
      throw new Error(text);
    }
    return response;
  }

  function say(text, isError) {
    const box = $("#message");
    box.textContent = text || "";
    box.className = isError ? "error" : "";
  }

  function warn(answer) {
    if (answer && answer.warnings && answer.warnings.length) say("Warning: " + answer.warnings.join(" "), true);
  }

  // ------------------------------------------------------------------ what is shown

  function number(name, fallback) {
    const field = $(`#params [name=${name}]`);
    const value = Number(field.value);
    return field.value === "" || !Number.isFinite(value) ? fallback : value;
  }

  function params(kind) {
    const spacing = $("#params [name=spacing]").value;
    const metric = $("#params [name=metric]").value || "pixel";
    if (kind === "continuum") {
      return { n_steps: number("n_steps", 11), level_range: [number("low", 0), number("high", 1)], spacing, metric };
    }
    if (kind === "grid") {
      return {
        n_rows: number("n_rows", 5), n_columns: number("n_columns", 5), spacing, metric,
        u_range: [number("u_low", 0), number("u_high", 1)], v_range: [number("v_low", 0), number("v_high", 1)],
      };
    }
    if (kind === "wheel") {
      const radius = $("#params [name=default_radius]").checked ? null : S.radius;
      return { n_images: number("n_images", 12), radius, spacing, metric };
    }
    return {
      axis: S.axis, orthogonal_to: S.held.slice(),
      amount_range: [number("amount_low", -3), number("amount_high", 3)], n_steps: number("attribute_steps", 7),
    };
  }

  function adjust() {
    const size = $("#params [name=size]").value;
    return {
      greyscale: $("#params [name=greyscale]").checked,
      size: size === "" ? null : Number(size),
      match: $("#params [name=match]").value || null,
      mask: $("#params [name=mask]").value || null,
      background: number("background", 0.5),
    };
  }

  function chosen(kind) {
    return S.sources[kind].filter((image, index) => image !== null && (kind !== "grid" || index < 3 || S.sources.grid[3]));
  }

  function ready(kind) {
    return S.sources[kind].slice(0, NEEDED[kind]).every((image) => image !== null);
  }

  function spec(kind = S.view) {
    return { kind, sources: chosen(kind), params: params(kind), adjust: adjust() };
  }

  function position(kind = S.view) {
    const place = { ...S.position[kind] };
    if (kind === "wheel") place.radius = S.radius;
    if (kind === "attribute") place.amounts = { ...S.position.attribute.amounts };
    return place;
  }

  // ------------------------------------------------------------------ images and sources

  async function loadImages() {
    const answer = await (await api("/api/images")).json();
    const box = $("#thumbnails");
    box.textContent = "";
    for (const image of [...answer.uploads, ...answer.images]) {
      const figure = document.createElement("figure");
      figure.dataset.image = image;
      figure.title = image;
      const img = document.createElement("img");
      img.loading = "lazy";
      img.alt = image;
      img.src = "/api/thumb?image=" + encodeURIComponent(image);
      const caption = document.createElement("figcaption");
      caption.textContent = image.split("/").pop();
      figure.append(img, caption);
      figure.addEventListener("click", () => pick(image));
      box.append(figure);
    }
    if (answer.truncated) {
      const note = document.createElement("p");
      note.className = "hint";
      note.textContent = "The folder holds more images than are listed.";
      box.append(note);
    }
    if (!answer.images.length && !answer.uploads.length) {
      box.innerHTML = '<p class="hint">No images yet: start with --images DIR, or upload one.</p>';
    }
  }

  function pick(image) {
    const slots = S.sources[S.view];
    slots[S.active] = image;
    const next = slots.findIndex((value, index) => value === null && index < NEEDED[S.view]);
    if (next >= 0) S.active = next;
    renderSlots();
    refreshView();
  }

  function renderSlots() {
    const box = $("#slots");
    box.textContent = "";
    const answer = S.views[S.view];
    const shown = answer ? Object.fromEntries(answer.sources.map((source) => [source.image, source])) : {};
    ROLES[S.view].forEach((role, index) => {
      const slot = document.createElement("div");
      slot.className = "slot" + (index === S.active ? " active" : "");
      slot.dataset.slot = index;
      const title = document.createElement("div");
      title.className = "role";
      title.textContent = role;
      slot.append(title);
      const image = S.sources[S.view][index];
      const source = image && shown[image];
      if (image) {
        const name = document.createElement("div");
        name.className = "name";
        name.textContent = image.split("/").pop();
        const clear = document.createElement("button");
        clear.type = "button";
        clear.className = "clear";
        clear.textContent = "×";
        clear.title = "empty this slot";
        clear.addEventListener("click", (event) => {
          event.stopPropagation();
          S.sources[S.view][index] = null;
          S.active = index;
          delete S.views[S.view];
          delete S.steps[S.view];
          renderSlots();
          renderSteps();
          refreshView();
        });
        title.append(clear);
        slot.append(name);
      }
      if (source) {
        const pair = document.createElement("div");
        pair.className = "pair";
        for (const [label, url] of [["source", source.prepared], ["model", source.reconstruction]]) {
          const figure = document.createElement("figure");
          const img = document.createElement("img");
          img.src = url;
          img.alt = label;
          const caption = document.createElement("figcaption");
          caption.textContent = label;
          figure.append(img, caption);
          pair.append(figure);
        }
        slot.append(pair);
        const ssim = document.createElement("div");
        ssim.className = "ssim" + (source.far ? " far" : "");
        ssim.textContent = source.ssim === null ? "" : `reconstruction SSIM ${source.ssim.toFixed(3)}`;
        if (source.far) ssim.title = "far outside what this model reconstructs well: the images near it will not look like it";
        slot.append(ssim);
      } else if (!image) {
        const empty = document.createElement("div");
        empty.className = "hint";
        empty.textContent = index === S.active ? "click an image" : "empty";
        slot.append(empty);
      }
      slot.addEventListener("click", () => { S.active = index; renderSlots(); });
      box.append(slot);
    });
  }

  async function refreshView() {
    const kind = S.view;
    if (!ready(kind)) {
      const frame = $("#frame");
      frame.removeAttribute("src");
      delete frame.dataset.position;
      say(`Pick ${NEEDED[kind]} image${NEEDED[kind] > 1 ? "s" : ""} for the ${kind === "grid" ? "pad" : kind}.`);
      return;
    }
    const mine = ++S.viewSeq;
    try {
      const answer = await (await api("/api/view", { spec: spec(kind) })).json();
      if (mine !== S.viewSeq) return;
      S.views[kind] = answer;
      say("");
      warn(answer);
      if (kind === "wheel") setWheelRadius(answer.wheel_radius);
      renderSlots();
      requestFrame();
      scheduleSteps();
    } catch (error) {
      say(error.message, true);
    }
  }

  // ------------------------------------------------------------------ live frames

  function requestFrame() {
    if (!ready(S.view) || !S.views[S.view]) return;
    S.wanted = true;
    if (!S.inflight) sendFrame();
  }

  async function sendFrame() {
    S.wanted = false;
    S.inflight = true;
    const seq = ++S.seq;
    const kind = S.view;
    const place = position(kind);
    const started = performance.now();
    try {
      const response = await api("/api/frame", { spec: spec(kind), position: place, seq, client: CLIENT });
      if (response.status === 200 && kind === S.view) {
        const blob = await response.blob();
        const info = JSON.parse(response.headers.get("x-gaia-stim-info") || "{}");
        const frame = $("#frame");
        const old = S.frameUrl;
        S.frameUrl = URL.createObjectURL(blob);
        await new Promise((resolve) => { frame.onload = resolve; frame.onerror = resolve; frame.src = S.frameUrl; });
        frame.dataset.kind = kind;
        frame.dataset.position = JSON.stringify(place);
        frame.dataset.seq = String(seq);
        if (old) URL.revokeObjectURL(old);
        const trip = performance.now() - started;
        $("#frame-info").textContent =
          `decode ${info.decode_ms} ms · server ${info.server_ms} ms · round trip ${trip.toFixed(1)} ms`;
        if (info.readout) renderLiveLeakage(info.readout);
        if (!S.wanted) say("");
      }
    } catch (error) {
      say(error.message, true);
    } finally {
      S.inflight = false;
      if (S.wanted) sendFrame();
    }
  }

  // ------------------------------------------------------------------ the set an export writes

  let stepsTimer = null;
  function scheduleSteps() {
    clearTimeout(stepsTimer);
    stepsTimer = setTimeout(loadSteps, 350);
  }

  async function loadSteps() {
    const kind = S.view;
    if (!ready(kind) || !S.views[kind]) return;
    const mine = ++S.stepsSeq;
    $("#steps-status").textContent = "computing…";
    try {
      const answer = await (await api("/api/steps", { spec: spec(kind) })).json();
      if (mine !== S.stepsSeq || kind !== S.view) return;
      S.steps[kind] = answer;
      warn(answer);
      $("#steps-status").textContent = "";
      renderSteps();
      requestFrame();  // matching takes its targets from these steps
    } catch (error) {
      if (mine === S.stepsSeq) {
        $("#steps-status").textContent = "";
        say(error.message, true);
      }
    }
  }

  function renderSteps() {
    const answer = S.steps[S.view];
    const box = $("#steps");
    box.textContent = "";
    $("#leakage-steps").textContent = "";
    $("#ticks").textContent = "";
    if (!answer) { $("#steps-summary").textContent = ""; return; }
    let summary = `${answer.n_images} images`;
    if (answer.cv !== undefined) summary += ` · step distance (${answer.metric}) CV ${(100 * answer.cv).toFixed(2)} %`;
    if (answer.radius !== undefined) summary += ` · radius ${answer.radius.toPrecision(4)}`;
    $("#steps-summary").textContent = summary;
    (answer.images || []).forEach((url, index) => {
      const img = document.createElement("img");
      img.src = url;
      img.alt = `image ${index}`;
      img.title = stepTitle(answer, index);
      img.addEventListener("click", () => jumpTo(answer, index));
      box.append(img);
    });
    if (S.view === "continuum") drawTicks(answer.positions);
    if (S.view === "grid") drawPad();
    if (S.view === "wheel") drawWheel();
    if (answer.leakage) renderStepsLeakage(answer.leakage);
    updateReadout();
  }

  function stepTitle(answer, index) {
    if (S.view === "continuum") return `step ${index}: morph level ${answer.positions[index].toFixed(4)}`;
    if (S.view === "grid") {
      const columns = answer.u.length;
      return `u ${answer.u[index % columns].toFixed(3)}, v ${answer.v[Math.floor(index / columns)].toFixed(3)}`;
    }
    if (S.view === "wheel") return `${answer.positions[index].toFixed(1)}°`;
    return `amount ${answer.positions[index].toFixed(3)}`;
  }

  function jumpTo(answer, index) {
    if (S.view === "continuum") {
      S.position.continuum.level = answer.positions[index];
      $("#level").value = String(answer.positions[index]);
    } else if (S.view === "grid") {
      const columns = answer.u.length;
      S.position.grid = { u: answer.u[index % columns], v: answer.v[Math.floor(index / columns)] };
      drawPad();
    } else if (S.view === "wheel") {
      S.position.wheel.angle = (answer.positions[index] * Math.PI) / 180;
      drawWheel();
    } else {
      S.position.attribute.amounts = { [S.axis]: answer.positions[index] };
      renderAxes();
    }
    updateReadout();
    requestFrame();
  }

  // ------------------------------------------------------------------ continuum

  function levelRange() { return [number("low", 0), number("high", 1)]; }

  function setLevelSlider() {
    const [low, high] = levelRange();
    const slider = $("#level");
    slider.min = String(low);
    slider.max = String(high);
    slider.step = String((high - low) / 1000);
    const level = Math.min(high, Math.max(low, S.position.continuum.level));
    S.position.continuum.level = level;
    slider.value = String(level);
  }

  function drawTicks(positions) {
    const [low, high] = levelRange();
    const box = $("#ticks");
    box.textContent = "";
    for (const level of positions || []) {
      const tick = document.createElement("span");
      tick.style.left = `${(100 * (level - low)) / (high - low)}%`;
      box.append(tick);
    }
  }

  function continuumReadout() {
    const level = S.position.continuum.level;
    let text = `morph level ${level.toFixed(3)}`;
    const answer = S.steps.continuum;
    if (answer && answer.step_distances) {
      const levels = answer.positions;
      let step = levels.findIndex((value, index) => index + 1 < levels.length && level >= value && level <= levels[index + 1]);
      if (step < 0) step = level < levels[0] ? 0 : levels.length - 2;
      text += ` · between steps ${step} and ${step + 1}: step distance (${answer.metric}) ${answer.step_distances[step].toFixed(4)}`;
    }
    return text;
  }

  // ------------------------------------------------------------------ the pad (grid)

  function padRanges() { return [[number("u_low", 0), number("u_high", 1)], [number("v_low", 0), number("v_high", 1)]]; }

  function drawPad() {
    const pad = $("#pad");
    const [[u0, u1], [v0, v1]] = padRanges();
    $$(".dot, .corner", pad).forEach((node) => node.remove());
    const place = (u, v, node) => {
      node.style.left = `${(100 * (u - u0)) / (u1 - u0)}%`;
      node.style.top = `${(100 * (v - v0)) / (v1 - v0)}%`;
    };
    const answer = S.steps.grid;
    if (answer && answer.u) {
      for (const v of answer.v) for (const u of answer.u) {
        const dot = document.createElement("div");
        dot.className = "dot";
        place(u, v, dot);
        pad.append(dot);
      }
    }
    const corners = S.sources.grid[3] ? [["A", 0, 0], ["B", 1, 0], ["C", 0, 1], ["D", 1, 1]] : [["A", 0, 0], ["B", 1, 0], ["C", 0, 1]];
    for (const [label, u, v] of corners) {
      if (u < Math.min(u0, u1) || u > Math.max(u0, u1) || v < Math.min(v0, v1) || v > Math.max(v0, v1)) continue;
      const corner = document.createElement("div");
      corner.className = "corner";
      corner.textContent = label;
      place(u, v, corner);
      corner.style.transform = `translate(${u === u1 ? "-120%" : "20%"}, ${v === v1 ? "-120%" : "20%"})`;
      pad.append(corner);
    }
    place(S.position.grid.u, S.position.grid.v, $("#pad-handle"));
  }

  function padMove(event) {
    const box = $("#pad").getBoundingClientRect();
    const [[u0, u1], [v0, v1]] = padRanges();
    const x = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    const y = Math.min(1, Math.max(0, (event.clientY - box.top) / box.height));
    S.position.grid = { u: round(u0 + x * (u1 - u0)), v: round(v0 + y * (v1 - v0)) };
    drawPad();
    updateReadout();
    requestFrame();
  }

  function round(value) { return Math.round(value * 1000) / 1000; }

  // ------------------------------------------------------------------ the wheel

  const WHEEL = { cx: 130, cy: 130, r: 105 };

  function setWheelRadius(defaultRadius) {
    S.defaultRadius = defaultRadius;
    const slider = $("#radius");
    slider.min = "0";
    slider.max = String(2 * defaultRadius);
    slider.step = String(defaultRadius / 500);
    if ($("#params [name=default_radius]").checked || S.radius === null) S.radius = defaultRadius;
    slider.value = String(S.radius);
    drawWheel();
  }

  function drawWheel() {
    const dots = $("#wheel-dots");
    dots.textContent = "";
    const answer = S.steps.wheel;
    for (const degrees of (answer && answer.positions) || []) {
      const angle = (degrees * Math.PI) / 180;
      const dot = document.createElementNS("http://www.w3.org/2000/svg", "circle");
      dot.setAttribute("cx", WHEEL.cx + WHEEL.r * Math.cos(angle));
      dot.setAttribute("cy", WHEEL.cy - WHEEL.r * Math.sin(angle));
      dot.setAttribute("r", 3.5);
      dots.append(dot);
    }
    const angle = S.position.wheel.angle;
    const x = WHEEL.cx + WHEEL.r * Math.cos(angle);
    const y = WHEEL.cy - WHEEL.r * Math.sin(angle);
    $("#wheel-handle").setAttribute("cx", x);
    $("#wheel-handle").setAttribute("cy", y);
    $("#wheel-spoke").setAttribute("x2", x);
    $("#wheel-spoke").setAttribute("y2", y);
  }

  function wheelMove(event) {
    const box = $("#wheel").getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * 260 - WHEEL.cx;
    const y = WHEEL.cy - ((event.clientY - box.top) / box.height) * 260;
    let angle = Math.atan2(y, x);
    if (angle < 0) angle += 2 * Math.PI;
    S.position.wheel.angle = angle;
    drawWheel();
    updateReadout();
    requestFrame();
  }

  // ------------------------------------------------------------------ attribute axes

  function renderAxes() {
    const body = $("#axes-table tbody");
    const axes = (S.server && S.server.axes) || [];
    body.textContent = "";
    for (const axis of axes) {
      const reach = 3 * (axis.scale || 1);  // three SDs of the attribute in the labels
      const row = document.createElement("tr");
      row.dataset.axis = axis.name;
      const amount = S.position.attribute.amounts[axis.name] || 0;
      row.innerHTML = `<td class="name"></td><td><input type="range" class="amount"></td><td class="value"></td>
        <td class="r2"></td><td><input type="checkbox" class="hold"></td><td><input type="radio" name="export-axis" class="export-axis"></td>`;
      $(".name", row).textContent = axis.name;
      const slider = $(".amount", row);
      slider.min = String(-reach);
      slider.max = String(reach);
      slider.step = String(reach / 100);
      slider.value = String(amount);
      slider.setAttribute("aria-label", `amount of ${axis.name}`);
      $(".value", row).textContent = amount.toFixed(2);
      $(".r2", row).textContent = axis.r2.toFixed(2);
      $(".hold", row).checked = S.held.includes(axis.name);
      $(".export-axis", row).checked = S.axis === axis.name;
      slider.addEventListener("input", () => {
        const value = Number(slider.value);
        if (value) S.position.attribute.amounts[axis.name] = value;
        else delete S.position.attribute.amounts[axis.name];
        $(".value", row).textContent = value.toFixed(2);
        requestFrame();
      });
      $(".hold", row).addEventListener("change", (event) => {
        S.held = event.target.checked ? [...S.held, axis.name] : S.held.filter((name) => name !== axis.name);
        changed();
      });
      $(".export-axis", row).addEventListener("change", () => { S.axis = axis.name; setAmountRange(); changed(); });
      body.append(row);
    }
  }

  function setAmountRange() {
    // the export's amounts: two SDs of the export axis either way (editable)
    const axis = ((S.server && S.server.axes) || []).find((item) => item.name === S.axis);
    const reach = Number((2 * ((axis && axis.scale) || 1.5)).toPrecision(2));
    $("#params [name=amount_low]").value = String(-reach);
    $("#params [name=amount_high]").value = String(reach);
    $("#params [name=amount_low]").step = $("#params [name=amount_high]").step = String(reach / 20);
  }

  function bars(rows, moved) {
    const box = document.createElement("div");
    box.className = "bars";
    const reach = Math.max(1, ...rows.map((row) => Math.max(Math.abs(row.asked), Math.abs(row.read))));
    const span = (value, kind) => {  // CSSOM, not style attributes: the page's CSP allows no inline styles
      const width = (50 * Math.abs(value)) / reach;
      const node = document.createElement("span");
      node.className = kind;
      node.style.left = `${value < 0 ? 50 - width : 50}%`;
      node.style.width = `${width}%`;
      return node;
    };
    for (const row of rows) {
      const label = document.createElement("div");
      label.textContent = `${row.name} ${row.read >= 0 ? "+" : ""}${row.read.toFixed(2)}`;
      if (moved.includes(row.name)) label.className = "moved";
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.title = `asked ${row.asked.toFixed(3)} SD, read out ${row.read.toFixed(3)} SD`;
      bar.append(span(row.asked, "asked"), span(row.read, "read"));
      box.append(label, bar);
    }
    return box;
  }

  function renderLiveLeakage(rows) {
    const box = $("#leakage-live");
    box.textContent = "";
    box.append(bars(rows, Object.keys(S.position.attribute.amounts)));
  }

  function renderStepsLeakage(rows) {
    const box = $("#leakage-steps");
    const table = document.createElement("table");
    table.innerHTML = "<caption class='hint'>over the exported series (read out from the codes)</caption>" +
      "<tr><th>attribute</th><th>change</th><th>in SD</th></tr>";
    for (const row of rows.filter((item) => item.source === "readout")) {
      const line = document.createElement("tr");
      const cells = [row.attribute, row.change_over_range.toFixed(3), row.change_in_sd === null ? "" : row.change_in_sd.toFixed(2)];
      for (const text of cells) {
        const cell = document.createElement("td");
        cell.textContent = text;
        line.append(cell);
      }
      if (row.manipulated) line.style.fontWeight = "600";
      table.append(line);
    }
    box.append(table);
  }

  // ------------------------------------------------------------------ readouts, tabs, changes

  function updateReadout() {
    if (S.view === "continuum") $("#level-readout").textContent = continuumReadout();
    if (S.view === "grid") $("#pad-readout").textContent = `u ${S.position.grid.u.toFixed(3)} · v ${S.position.grid.v.toFixed(3)}`;
    if (S.view === "wheel") {
      const degrees = ((S.position.wheel.angle * 180) / Math.PI).toFixed(1);
      $("#wheel-readout").textContent = `angle ${degrees}° · radius ${S.radius === null ? "default" : S.radius.toPrecision(4)}`;
    }
  }

  function showView(kind) {
    S.view = kind;
    S.active = Math.max(0, S.sources[kind].findIndex((image) => image === null));
    if (S.active >= NEEDED[kind] && kind !== "grid") S.active = 0;
    $$("#tabs button").forEach((button) => button.classList.toggle("active", button.dataset.view === kind));
    $$(".controls").forEach((box) => box.classList.toggle("shown", box.dataset.for === kind));
    $$("#set fieldset[data-for]").forEach((box) => box.classList.toggle("shown", box.dataset.for.split(" ").includes(kind)));
    $("#frame").removeAttribute("src");
    $("#frame-info").textContent = "";
    if (kind === "attribute") renderAxes();
    if (kind === "grid") drawPad();
    if (kind === "wheel") drawWheel();
    renderSlots();
    renderSteps();
    refreshView();
  }

  function changed() {
    if (S.view === "continuum") setLevelSlider();
    if (S.view === "attribute") renderAxes();
    if (S.view === "grid") drawPad();
    updateReadout();
    if (S.views[S.view]) {
      requestFrame();
      scheduleSteps();
    }
  }

  // ------------------------------------------------------------------ export

  async function exportSet() {
    const button = $("#export");
    if (!ready(S.view)) { say("Pick the images first.", true); return; }
    button.disabled = true;
    say("Writing the set…");
    try {
      const body = { spec: spec(), out: $("#out").value.trim(), force: $("#force").checked };
      const answer = await (await api("/api/export", body)).json();
      $("#export-result").hidden = false;
      const intact = answer.problems.length === 0;
      $("#export-summary").textContent = `Wrote ${answer.n_images} images to ${answer.path}: ` +
        (intact ? "gaia-stim verify finds it intact." : `verify reports: ${answer.problems.join("; ")}`);
      $("#command").value = answer.command;
      $("#verify-command").textContent = `Check it again, rebuilding every image: ${answer.verify_command}`;
      say(intact ? "Exported." : "Exported, but verify reports problems.", !intact);
      warn(answer);
    } catch (error) {
      say(error.message, true);
    } finally {
      button.disabled = false;
    }
  }

  async function copyCommand() {
    const field = $("#command");
    try {
      await navigator.clipboard.writeText(field.value);
      say("Command copied.");
    } catch (error) {
      field.select();
      say("Select and copy the command (the browser did not allow copying).");
    }
  }

  async function upload(file) {
    if (!file) return;
    say(`Checking ${file.name}…`);
    try {
      const response = await api("/api/upload", undefined, {
        method: "POST", body: file,
        headers: { "X-Gaia-Stim-Token": TOKEN, "X-Filename": encodeURIComponent(file.name), "Content-Type": "application/octet-stream" },
      });
      const answer = await response.json();
      await loadImages();
      pick(answer.image);
      say(`${file.name} uploaded.`);
    } catch (error) {
      say(error.message, true);
    } finally {
      $("#upload").value = "";
    }
  }

  // ------------------------------------------------------------------ start

  async function start() {
    try {
      S.server = await (await api("/api/state")).json();
    } catch (error) {
      say(error.message, true);
      return;
    }
    const model = S.server.model;
    const root = S.server.out_root.split("/").filter(Boolean).pop() || "/";
    $("#model").textContent = `model ${model.name} · ${model.image_size}×${model.image_size}×${model.channels} · exports into ${root}/`;
    $("#model").title = `exports are written inside ${S.server.out_root}`;
    $("#out-root").textContent = `a folder inside ${S.server.out_root}`;
    // the choices are the server's registries (metrics, spacings, low-level options), not a copy of them
    const choices = (select, items) => {
      for (const item of items) {
        const option = document.createElement("option");
        option.value = option.textContent = item.name || item;
        if (item.available === false) {
          option.disabled = true;
          option.title = item.why;
        }
        select.append(option);
      }
    };
    choices($("#metric"), S.server.metrics);
    choices($("#params [name=spacing]"), S.server.spacings);
    choices($("#params [name=match]"), S.server.matches);
    choices($("#params [name=mask]"), S.server.masks);
    if (S.server.axes && S.server.axes.length) {
      S.axis = S.server.axes[0].name;
      setAmountRange();
    } else {
      $("#tab-attribute").disabled = true;
      $("#tab-attribute").title = "start gaia-stim explore with --axes AXES.npz";
    }

    $$("#tabs button").forEach((button) => button.addEventListener("click", () => showView(button.dataset.view)));
    $$("form").forEach((form) => form.addEventListener("submit", (event) => event.preventDefault()));
    $("#params").addEventListener("change", (event) => {
      if (event.target.name === "default_radius" && event.target.checked && S.defaultRadius) setWheelRadius(S.defaultRadius);
      changed();
    });
    $("#level").addEventListener("input", () => {
      S.position.continuum.level = Number($("#level").value);
      updateReadout();
      requestFrame();
    });
    $("#radius").addEventListener("input", () => {
      S.radius = Number($("#radius").value);
      $("#params [name=default_radius]").checked = false;
      updateReadout();
      requestFrame();
      scheduleSteps();
    });
    const pad = $("#pad");
    pad.addEventListener("pointerdown", (event) => { pad.setPointerCapture(event.pointerId); padMove(event); });
    pad.addEventListener("pointermove", (event) => { if (event.buttons) padMove(event); });
    pad.addEventListener("keydown", (event) => {
      const [[u0, u1], [v0, v1]] = padRanges();
      const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key];
      if (!moves) return;
      event.preventDefault();
      S.position.grid.u = round(S.position.grid.u + (moves[0] * (u1 - u0)) / 50);
      S.position.grid.v = round(S.position.grid.v + (moves[1] * (v1 - v0)) / 50);
      drawPad();
      updateReadout();
      requestFrame();
    });
    const wheel = $("#wheel");
    wheel.addEventListener("pointerdown", (event) => { wheel.setPointerCapture(event.pointerId); wheelMove(event); });
    wheel.addEventListener("pointermove", (event) => { if (event.buttons) wheelMove(event); });
    $("#export").addEventListener("click", exportSet);
    $("#copy").addEventListener("click", copyCommand);
    $("#upload").addEventListener("change", (event) => upload(event.target.files[0]));
    setLevelSlider();
    await loadImages().catch((error) => say(error.message, true));
    showView("continuum");
  }

  start();
})();
