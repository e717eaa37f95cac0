// The canvas demo and the client in a real browser: headless Chromium from Debian's
// packages, driven by puppeteer-core. Two pages share the board; a reloaded page gets the
// board again; a screenshot goes to test-output/. Then a handful of the client's scenarios
// run inside the page against the conformance server.
//
// Without a chromium binary the test is skipped, unless STREAMPOD_REQUIRE_JS=1 (as CI sets
// it), which makes the missing browser a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startProxy } from './proxy.mjs';
import { startExample, waitUntil } from './support.mjs';

function findChromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`]).toString().trim();
    } catch {
      // Not this one.
    }
  }
  return undefined;
}

const chromium = findChromium();
const required = process.env.STREAMPOD_REQUIRE_JS === '1';
const skip = chromium ? false : 'no chromium found (set CHROMIUM, or install Debian’s chromium)';
if (skip && required) throw new Error(`STREAMPOD_REQUIRE_JS=1, but ${skip}`);

const output = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-output');

describe('in a browser', { skip }, () => {
  let browser;
  let canvas;
  let conformance;
  let ticker;
  before(async () => {
    const puppeteer = (await import('puppeteer-core')).default;
    [canvas, conformance, ticker] = await Promise.all([
      startExample('canvas'),
      startExample('conformance_server'),
      startExample('ticker', [], 'serve'),
    ]);
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      protocolTimeout: 20_000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  });
  after(async () => {
    await browser?.close();
    canvas?.stop();
    conformance?.stop();
    ticker?.stop();
  });

  async function openCanvas() {
    const page = await browser.newPage();
    await page.setViewport({ width: 720, height: 680 });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(canvas.url);
    await page.waitForFunction(() => window.canvasState?.ready === true, { timeout: 10_000, polling: 50 });
    return page;
  }

  const pixel = (page, index) => page.evaluate((i) => window.canvasState.board[i], index);

  it('shares clicks between pages, and a reloaded page sees the board', async () => {
    const [one, two] = [await openCanvas(), await openCanvas()];
    // Colour 9 from the palette, then the pixel at (10, 20). A background tab does not
    // render, so the page clicked in comes to the front first.
    await one.bringToFront();
    await one.click('#palette button[data-color="9"]');
    const box = await (await one.$('#board')).boundingBox();
    const [x, y] = [10, 20];
    await one.mouse.click(box.x + ((x + 0.5) * box.width) / 64, box.y + ((y + 0.5) * box.height) / 64);
    const index = y * 64 + x;
    // Both pages get the change from the server (the clicking one too: it paints nothing
    // itself).
    await waitUntil('both pages show the click', async () =>
      (await pixel(two, index)) === 9 && (await pixel(one, index)) === 9,
    );
    await two.bringToFront();
    await two.reload();
    await two.waitForFunction(() => window.canvasState?.ready === true, { timeout: 10_000, polling: 50 });
    assert.equal(await pixel(two, index), 9, 'the reloaded page got the whole board');
    // A smiley drawn through the other page's client shows in the first one too.
    const smiley = [
      [22, 22], [23, 22], [40, 22], [41, 22], [22, 23], [23, 23], [40, 23], [41, 23],
      [20, 36], [43, 36], [21, 38], [42, 38], [23, 40], [40, 40],
      ...Array.from({ length: 14 }, (_, i) => [25 + i, 41]),
    ].map(([px, py]) => py * 64 + px);
    await two.evaluate(async (pixels) => {
      const { Client } = await import('/streampod.js');
      const c = new Client(location.origin);
      await Promise.all(pixels.map((pixelIndex) => c.callVoid('pixorama', 'setPixel', { pixelIndex, colorIndex: 13 })));
      c.close();
    }, smiley);
    await waitUntil('the first page shows the smiley', async () =>
      one.evaluate((pixels) => pixels.every((i) => window.canvasState.board[i] === 13), smiley),
    );
    mkdirSync(output, { recursive: true });
    await one.bringToFront();
    await one.screenshot({ path: join(output, 'canvas.png') });
    await Promise.all([one.close(), two.close()]);
  });

  it('runs the client’s scenarios inside the page', async () => {
    const page = await openCanvas();
    const results = await page.evaluate(async (url) => {
      const { Client, EndpointNotFoundError, SerializableExceptionError } = await import('/streampod.js');
      const out = {};
      for (const wire of ['msgpack', 'json']) {
        const c = new Client(url, { encoding: wire });
        const M = 'methodStreaming';
        const simple = [];
        for await (const v of c.stream(M, 'simpleStream')) simple.push(v);
        const echoed = [];
        const values = [1, 'two', new Date('1976-09-10T02:10:00.000Z'), new Uint8Array([1, 2, 255]), { __className__: 'SimpleData', num: 42 }];
        for await (const v of c.stream(M, 'dynamicEchoStream', {}, { stream: values })) echoed.push(v);
        let exception;
        try {
          await c.call(M, 'throwsSerializableException');
        } catch (e) {
          exception = e instanceof SerializableExceptionError ? e.className : String(e);
        }
        let notFound;
        try {
          await c.call(M, 'noSuchMethod');
        } catch (e) {
          notFound = e instanceof EndpointNotFoundError ? e.statusCode : String(e);
        }
        let taken = 0;
        for await (const v of c.stream(M, 'neverEndingStreamWithDelay', { millisecondsDelay: 1 })) {
          taken = v;
          if (v === 3) break;
        }
        const first = await c.call(M, 'intReturnFromStream', {}, { stream: [7, 8] });
        out[wire] = {
          simple,
          echoed: [
            echoed[0],
            echoed[1],
            echoed[2] instanceof Date ? echoed[2].toISOString() : 'not a Date',
            echoed[3] instanceof Uint8Array ? Array.from(echoed[3]) : 'not bytes',
            echoed[4],
          ],
          exception,
          notFound,
          taken,
          first,
        };
        c.close();
      }
      return out;
    }, conformance.url);
    for (const wire of ['msgpack', 'json']) {
      assert.deepEqual(results[wire], {
        simple: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        echoed: [1, 'two', '1976-09-10T02:10:00.000Z', [1, 2, 255], { __className__: 'SimpleData', num: 42 }],
        exception: 'ExceptionWithData',
        notFound: 404,
        taken: 3,
        first: 7,
      }, wire);
    }
    await page.close();
  });

  it('runs the client generated from the Rust trait inside the page', async () => {
    const page = await openCanvas();
    // The compiled module (npm run build:tests), importing the browser build the page serves.
    const compiled = readFileSync(join(output, 'generated', 'methodStreaming.js'), 'utf8');
    const source = compiled.replaceAll("from 'streampod'", `from '${canvas.url}/streampod.js'`);
    const results = await page.evaluate(
      async (url, source) => {
        const blob = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
        const { MethodStreamingClient, isExceptionWithData } = await import(blob);
        const { Client } = await import('/streampod.js');
        const out = {};
        for (const wire of ['msgpack', 'json']) {
          const c = new Client(url, { encoding: wire });
          const methods = new MethodStreamingClient(c);
          const data = [];
          for await (const v of methods.simpleInOutDataStream([{ num: 1 }, { num: 2 }])) data.push(v.num);
          const lists = [];
          for await (const v of methods.simpleListInOutIntStream([[1, 2], [3]])) lists.push(v);
          const sum = await methods.intReturnFromStream([5]);
          const thrown = await methods.throwsSerializableException().catch((e) => e);
          out[wire] = { data, lists, sum, guarded: isExceptionWithData(thrown) };
          c.close();
        }
        return out;
      },
      conformance.url,
      source,
    );
    for (const wire of ['msgpack', 'json']) {
      assert.deepEqual(results[wire], { data: [1, 2], lists: [[1, 2], [3]], sum: 5, guarded: true }, wire);
    }
    await page.close();
  });

  it('keeps a page’s stream counting across a cut connection', async () => {
    const proxy = await startProxy(ticker.url);
    const page = await openCanvas();
    // The page counts from a ticker behind the proxy, noting its client's states.
    await page.evaluate(async (url) => {
      const { Client } = await import('/streampod.js');
      const c = new Client(url);
      window.ticks = { values: [], states: [], done: false };
      c.onStateChange((s) => window.ticks.states.push(s.state));
      void (async () => {
        try {
          for await (const v of c.stream('ticker', 'count', { from: 0, to: 200, intervalMs: 5 })) window.ticks.values.push(v);
        } catch (e) {
          window.ticks.error = String(e);
        }
        window.ticks.done = true;
        c.close();
      })();
    }, proxy.url);
    const ticks = () => page.evaluate(() => window.ticks);
    await waitUntil('50 values in the page', async () => (await ticks()).values.length >= 50);
    proxy.cutAll();
    await waitUntil('the page’s stream done', async () => (await ticks()).done);
    const { values, states, error } = await ticks();
    assert.equal(error, undefined);
    assert.deepEqual(values, Array.from({ length: 200 }, (_, i) => i));
    assert.ok(states.includes('reconnecting'), states.join(' '));
    assert.ok(proxy.accepted >= 2, `${proxy.accepted} connections`);
    await page.close();
    proxy.close();
  });
});
