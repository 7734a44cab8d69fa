// The page: send the clip, then draw what came back (waveform with a playback cursor, frames, scores
// against the training split, the CAM, who answered and how long each step took).
"use strict";

const $ = (id) => document.getElementById(id);
let outline = null;

function drawWaveform(cursorS) {
  const canvas = $("waveform");
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (!outline) return;
  const n = outline.min.length;
  const middle = canvas.height / 2;
  ctx.fillStyle = "#357";
  for (let i = 0; i < n; i++) {
    const x = (i / n) * canvas.width;
    const top = middle - outline.max[i] * middle;
    const bottom = middle - outline.min[i] * middle;
    ctx.fillRect(x, top, Math.max(1, canvas.width / n), Math.max(1, bottom - top));
  }
  if (cursorS !== undefined) {
    ctx.fillStyle = "#d33";
    ctx.fillRect((cursorS / outline.seconds) * canvas.width, 0, 2, canvas.height);
  }
}

function cell(row, text, attributes = {}) {
  const td = document.createElement("td");
  td.textContent = text;
  for (const [key, value] of Object.entries(attributes)) td.setAttribute(key, value);
  row.appendChild(td);
  return td;
}

function bar(parts) {
  const div = document.createElement("div");
  div.className = "bar";
  for (const [name, from, to] of parts) {
    const part = document.createElement("div");
    part.className = name;
    part.style.left = `${Math.max(0, Math.min(1, from)) * 100}%`;
    if (to !== null) part.style.width = `${Math.max(0, Math.min(1, to) - Math.max(0, from)) * 100}%`;
    div.appendChild(part);
  }
  return div;
}

function showScores(answer) {
  const head = $("scores").tHead;
  const body = $("scores").tBodies[0];
  head.innerHTML = "";
  body.innerHTML = "";
  const header = head.insertRow();
  if (answer.task === "classification") {
    $("result-title").textContent = `${answer.model} hears ${answer.predicted_class}`;
    for (const title of ["class", "probability", ""]) cell(header, title);
    for (const s of answer.scores) {
      const row = body.insertRow();
      row.dataset.output = s.output;
      cell(row, s.output);
      cell(row, s.probability.toFixed(4), { class: "value", "data-value": String(s.probability) });
      cell(row, "").appendChild(bar([["fill", 0, s.probability]]));
    }
    return;
  }
  $("result-title").textContent = `${answer.model}: the five traits`;
  for (const title of ["trait", "score", "training clips below it", "training split: range, quartiles and this clip"]) cell(header, title);
  for (const s of answer.scores) {
    const row = body.insertRow();
    row.dataset.output = s.output;
    const [low, q1, , q3, high] = s.train_quantiles;
    cell(row, s.output);
    cell(row, s.value.toFixed(4), { class: "value", "data-value": String(s.value) });
    cell(row, `${s.percentile.toFixed(0)}%`, { class: "percentile" });
    cell(row, "").appendChild(bar([["range", low, high], ["box", q1, q3], ["mark", s.value, null]]));
  }
}

function showCam(answer) {
  const cam = answer.cam;
  $("cam").hidden = !cam;
  if (!cam) return;
  const select = $("cam-output");
  const chosen = select.value;
  const images = Object.fromEntries(cam.images.map((m) => [m.output, m.image]));
  select.innerHTML = "";
  for (const m of cam.images) select.add(new Option(m.output, m.output));
  if (chosen in images) select.value = chosen;
  const draw = () => { $("cam-image").src = images[select.value]; };
  select.onchange = draw;
  draw();
  const vertical = cam.spectrogram ? "mel bands from 125 Hz (bottom) to 7500 Hz (top)" : "the waveform's RMS envelope (dark)";
  $("cam-axes").textContent = `Time 0 to ${cam.seconds.toFixed(2)} s from left to right; ${vertical}; colour: the map, normalised to [0, 1] (blue low, red high).`;
  $("cam-identity").textContent = `CAM identity error (mean map + bias - output): ${cam.identity_error.toExponential(1)}`;
}

function showFrames(answer) {
  const row = $("frames");
  row.innerHTML = "";
  answer.frames.forEach((src, i) => {
    const image = new Image();
    image.src = src;
    image.alt = `frame ${i + 1} of ${answer.frames.length}`;
    row.appendChild(image);
  });
}

function showWho(answer) {
  const w = answer.weights;
  $("weights").textContent = `${w.model}, weights ${w.file}; VGGish: ${w.vggish}.`;
  $("vggish-warning").hidden = !w.warning;
  $("vggish-warning").textContent = w.warning;
  const body = $("timings").tBodies[0];
  body.innerHTML = "";
  for (const t of answer.timings) {
    const row = body.insertRow();
    row.dataset.step = t.step;
    cell(row, t.step);
    cell(row, `${t.ms.toFixed(0)} ms`);
  }
}

let recorded = null;
let recorder = null;

function play(file) {
  $("player").src = URL.createObjectURL(file);
  $("clip-view").hidden = false;
  outline = null;
  drawWaveform();
}

$("clip").addEventListener("change", () => {
  const file = $("clip").files[0];
  if (!file) return;
  recorded = null;
  play(file);
});

// Recording: the microphone's sound as the browser encodes it (WebM), sent like a chosen file.
$("record").addEventListener("click", async () => {
  if (recorder && recorder.state === "recording") {
    recorder.stop();
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    $("message").textContent = `The microphone could not be opened (${error.message}); the page must be opened as http://127.0.0.1.`;
    return;
  }
  const chunks = [];
  recorder = new MediaRecorder(stream);
  recorder.ondataavailable = (event) => chunks.push(event.data);
  recorder.onstop = () => {
    stream.getTracks().forEach((track) => track.stop());
    recorded = new File(chunks, "recording.webm", { type: recorder.mimeType || "audio/webm" });
    $("clip").value = "";
    play(recorded);
    $("record").textContent = "Record";
    $("message").textContent = "Recorded. Press Predict.";
    document.body.dataset.recorded = "yes";
  };
  recorder.start();
  $("record").textContent = "Stop";
  $("message").textContent = "Recording... press Stop when done.";
});

$("player").addEventListener("timeupdate", () => drawWaveform($("player").currentTime));

$("upload").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = recorded || $("clip").files[0];
  $("message").textContent = file ? "Listening..." : "Choose or record a clip first.";
  if (!file) return;
  document.body.dataset.state = "waiting";
  const form = new FormData();
  form.append("model", $("model").value);
  form.append("clip", file);
  let answer;
  try {
    const response = await fetch("predict", { method: "POST", body: form });
    answer = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
  } catch (error) {
    answer = { error: `no answer from the server (${error})` };
  }
  if (answer.error) {
    $("message").textContent = answer.error;
    $("result").hidden = true;
    document.body.dataset.state = "error";
    return;
  }
  $("message").textContent = "";
  outline = answer.waveform;
  drawWaveform(0);
  showFrames(answer);
  showScores(answer);
  showCam(answer);
  showWho(answer);
  $("result").hidden = false;
  document.body.dataset.state = "answered";
});

drawWaveform();
