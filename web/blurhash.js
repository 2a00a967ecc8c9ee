// A small blurhash decoder (https://blurha.sh, MIT algorithm): a hash -> RGBA pixels to paint on a canvas.
"use strict";
const BLURHASH_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

function decode83(text) {
  let value = 0;
  for (const character of text) value = value * 83 + BLURHASH_DIGITS.indexOf(character);
  return value;
}

function srgbToLinear(value) {
  const v = value / 255;
  return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
}

function linearToSrgb(value) {
  const v = Math.max(0, Math.min(1, value));
  return Math.round(v <= 0.0031308 ? v * 12.92 * 255 + 0.5 : (1.055 * Math.pow(v, 1 / 2.4) - 0.055) * 255 + 0.5);
}

function signPow(value, exponent) {
  return Math.sign(value) * Math.pow(Math.abs(value), exponent);
}

function decodeBlurhash(hash, width, height) {
  if (!hash || hash.length < 6) throw new Error("not a blurhash");
  const sizeFlag = decode83(hash[0]);
  const componentsY = Math.floor(sizeFlag / 9) + 1;
  const componentsX = (sizeFlag % 9) + 1;
  if (hash.length !== 4 + 2 * componentsX * componentsY) throw new Error("blurhash length does not match");
  const maximum = (decode83(hash[1]) + 1) / 166;
  const colors = [];
  for (let i = 0; i < componentsX * componentsY; i++) {
    if (i === 0) {
      const dc = decode83(hash.substring(2, 6));
      colors.push([srgbToLinear(dc >> 16), srgbToLinear((dc >> 8) & 255), srgbToLinear(dc & 255)]);
    } else {
      const ac = decode83(hash.substring(4 + i * 2, 6 + i * 2));
      const quantized = [Math.floor(ac / (19 * 19)), Math.floor(ac / 19) % 19, ac % 19];
      colors.push(quantized.map((q) => signPow((q - 9) / 9, 2) * maximum));
    }
  }
  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < componentsY; j++) {
        for (let i = 0; i < componentsX; i++) {
          const basis = Math.cos((Math.PI * x * i) / width) * Math.cos((Math.PI * y * j) / height);
          const color = colors[i + j * componentsX];
          r += color[0] * basis;
          g += color[1] * basis;
          b += color[2] * basis;
        }
      }
      const offset = 4 * (x + y * width);
      pixels.set([linearToSrgb(r), linearToSrgb(g), linearToSrgb(b), 255], offset);
    }
  }
  return pixels;
}

// Paint a blurhash onto a canvas (small: the browser scales it up smoothly).
function paintBlurhash(canvas, hash) {
  canvas.width = 32;
  canvas.height = 32;
  const context = canvas.getContext("2d");
  const image = context.createImageData(32, 32);
  image.data.set(decodeBlurhash(hash, 32, 32));
  context.putImageData(image, 0, 0);
}
