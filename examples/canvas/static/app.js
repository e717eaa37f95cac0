// The page of `cargo run --example canvas`: the board from `pixorama.imageUpdates` (the
// whole board first, then every change), a click is `pixorama.setPixel`. Written as plain
// JavaScript on the bundled TypeScript client and the `pixorama` client generated from the
// endpoint's Rust trait (both committed as JavaScript), so the example needs no build step.
import { Client } from '/streampod.js';
import { PixoramaClient } from '/pixorama.js';

// Pixorama's palette.
const PALETTE = [
  '#ffffff', '#e4e4e4', '#888888', '#222222', '#ffa7d1', '#e50000', '#e59500', '#a06a42',
  '#e5d900', '#94e044', '#02be01', '#00d3dd', '#0083c7', '#0000ea', '#cf6ee4', '#820080',
];

const canvas = document.getElementById('board');
const ctx = canvas.getContext('2d');
const status = document.getElementById('status');
let width = 64;
let chosen = 5;

// What the page shows, for the browser test to read: the colour index of every pixel.
window.canvasState = { board: new Uint8Array(64 * 64), ready: false, updates: 0, recovered: null };

function paint(index, color) {
  window.canvasState.board[index] = color;
  ctx.fillStyle = PALETTE[color] ?? '#000000';
  ctx.fillRect(index % width, Math.floor(index / width), 1, 1);
}

const palette = document.getElementById('palette');
PALETTE.forEach((color, i) => {
  const button = document.createElement('button');
  button.style.background = color;
  button.title = `colour ${i}`;
  button.dataset.color = String(i);
  button.onclick = () => {
    chosen = i;
    for (const b of palette.children) b.classList.toggle('chosen', b === button);
  };
  if (i === chosen) button.classList.add('chosen');
  palette.appendChild(button);
});

const client = new Client(location.origin);
const pixorama = new PixoramaClient(client);

canvas.addEventListener('click', async (event) => {
  const rect = canvas.getBoundingClientRect();
  const x = Math.floor(((event.clientX - rect.left) / rect.width) * width);
  const y = Math.floor(((event.clientY - rect.top) / rect.height) * width);
  try {
    await pixorama.setPixel(y * width + x, chosen);
  } catch (error) {
    status.textContent = `could not paint: ${error.message}`;
  }
});

// Follows the board for the page's life. After a lost connection it joins again from the
// last change it saw: the server sends what was missed (from the board's history), or the
// whole board when it cannot.
async function follow() {
  let position = null;
  for (;;) {
    try {
      for await (const message of pixorama.imageUpdatesSince(position?.epoch ?? null, position?.offset ?? null)) {
        if (message.__className__ === 'BoardPosition') {
          position = { epoch: message.epoch, offset: message.offset };
          window.canvasState.recovered = message.recovered;
          if (message.recovered) ready();
        } else if (message.__className__ === 'ImageData') {
          width = message.width;
          message.pixels.forEach((color, index) => paint(index, color));
          ready();
        } else {
          paint(message.pixelIndex, message.colorIndex);
          position.offset = message.offset;
          window.canvasState.updates += 1;
        }
      }
    } catch (error) {
      status.textContent = `disconnected (${error.message}); trying again`;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function ready() {
  window.canvasState.ready = true;
  status.textContent = 'connected: click a pixel';
}
follow();
