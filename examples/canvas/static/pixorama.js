var __defProp = Object.defineProperty;
var __defNormalProp = (obj, key, value) => key in obj ? __defProp(obj, key, { enumerable: true, configurable: true, writable: true, value }) : obj[key] = value;
var __publicField = (obj, key, value) => __defNormalProp(obj, typeof key !== "symbol" ? key + "" : key, value);
class PixoramaClient {
  constructor(client) {
    __publicField(this, "client", client);
  }
  /**
   * The whole board (an `ImageData`), then every change (an `ImageUpdate`).
   */
  imageUpdates(options) {
    return this.client.stream("pixorama", "imageUpdates", {}, {}, options);
  }
  /**
   * Where the stream starts (a `BoardPosition`); then, unless it recovered every change
   * after the page's last position (`epoch`, `offset`), the whole board (an
   * `ImageData`); then every change (a `PixelChange`, with its offset). A page that
   * reconnects gets what it missed, not the whole board again.
   */
  imageUpdatesSince(epoch, offset, options) {
    return this.client.stream("pixorama", "imageUpdatesSince", { epoch, offset }, {}, options);
  }
  /**
   * Sets one pixel to one colour, for every page on every node.
   */
  setPixel(pixelIndex, colorIndex, options) {
    return this.client.callVoid("pixorama", "setPixel", { pixelIndex, colorIndex }, {}, options);
  }
}
export {
  PixoramaClient
};
