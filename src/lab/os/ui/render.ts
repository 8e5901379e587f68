import { Jimp, loadFont, measureText } from 'jimp';
import { SANS_32_BLACK, SANS_32_WHITE, SANS_64_BLACK } from 'jimp/fonts';
import { DISPLAY, allNodes, type Bounds, type UiNode } from './layout.ts';

type Font = Awaited<ReturnType<typeof loadFont>>;
type Image = InstanceType<typeof Jimp>;

interface Fonts {
  body: Font;
  onAccent: Font;
  title: Font;
}

const WHITE = 0xffffffff;
const STATUS_BAR = 0x1a237eff;
const NAV_BAR = 0x000000ff;
const ACCENT = 0x1a73e8ff;
const OUTLINE = 0x5f6368ff;
const LAUNCHER_TILE = 0xe8f0feff;

function fill(image: Image, b: Bounds, color: number): void {
  const left = Math.max(0, Math.round(b.left));
  const top = Math.max(0, Math.round(b.top));
  const right = Math.min(DISPLAY.width, Math.round(b.right));
  const bottom = Math.min(DISPLAY.height, Math.round(b.bottom));
  if (right <= left || bottom <= top) return;
  const pixel = Buffer.alloc(4);
  pixel.writeUInt32BE(color >>> 0);
  const { data, width } = image.bitmap;
  // Row by row with a repeated 4-byte pattern: a per-pixel callback over a full screen is slow.
  for (let y = top; y < bottom; y++) {
    data.fill(pixel, (y * width + left) * 4, (y * width + right) * 4);
  }
}

function frame(image: Image, b: Bounds, color: number, thickness: number): void {
  fill(image, { ...b, bottom: b.top + thickness }, color);
  fill(image, { ...b, top: b.bottom - thickness }, color);
  fill(image, { ...b, right: b.left + thickness }, color);
  fill(image, { ...b, left: b.right - thickness }, color);
}

/**
 * Draws the screen a UI driver sees, from the same layout the page source reports: status and
 * navigation bars, the title, buttons as filled rectangles with their label, check boxes and
 * switches with their state, text as text. Chosen over a native canvas because jimp is plain
 * JavaScript with bundled bitmap fonts, so it renders the same on every machine.
 */
export class ScreenRenderer {
  #fonts: Promise<Fonts> | undefined;

  #loadFonts(): Promise<Fonts> {
    this.#fonts ??= Promise.all([
      loadFont(SANS_32_BLACK),
      loadFont(SANS_32_WHITE),
      loadFont(SANS_64_BLACK),
    ]).then(([body, onAccent, title]) => ({ body, onAccent, title }));
    return this.#fonts;
  }

  async png(root: UiNode): Promise<Buffer> {
    const fonts = await this.#loadFonts();
    const image = new Jimp({ width: DISPLAY.width, height: DISPLAY.height, color: WHITE });
    fill(
      image,
      { left: 0, top: 0, right: DISPLAY.width, bottom: DISPLAY.statusBarHeight },
      STATUS_BAR,
    );
    fill(
      image,
      {
        left: 0,
        top: DISPLAY.height - DISPLAY.navigationBarHeight,
        right: DISPLAY.width,
        bottom: DISPLAY.height,
      },
      NAV_BAR,
    );
    for (const node of allNodes(root)) this.#draw(image, fonts, node);
    // An opaque screen: RGB without alpha; the Sub row filter alone encodes flat UI fastest.
    return image.getBuffer('image/png', { colorType: 2, filterType: 1 });
  }

  #draw(image: Image, fonts: Fonts, node: UiNode): void {
    const b = node.bounds;
    const label = node.text !== '' ? node.text : node.contentDesc;
    const midY = (top: number, font: Font): number =>
      Math.round((b.top + b.bottom) / 2 - font.common.lineHeight / 2 + top);
    if (node.title === true) {
      image.print({ font: fonts.title, x: b.left, y: midY(0, fonts.title), text: label });
      return;
    }
    if (node.element === undefined) return;
    if (node.checkable) {
      const size = 64;
      const box = {
        left: b.left,
        top: Math.round((b.top + b.bottom - size) / 2),
        right: b.left + size,
        bottom: Math.round((b.top + b.bottom + size) / 2),
      };
      if (node.checked) fill(image, box, ACCENT);
      else frame(image, box, OUTLINE, 6);
      if (node.checked)
        fill(
          image,
          {
            ...box,
            left: box.left + 20,
            right: box.right - 20,
            top: box.top + 20,
            bottom: box.bottom - 20,
          },
          WHITE,
        );
      image.print({ font: fonts.body, x: box.right + 32, y: midY(0, fonts.body), text: label });
      return;
    }
    if (node.className.endsWith('Button')) {
      fill(image, b, ACCENT);
      const width = measureText(fonts.onAccent, label);
      image.print({
        font: fonts.onAccent,
        x: Math.round((b.left + b.right - width) / 2),
        y: midY(0, fonts.onAccent),
        text: label,
      });
      return;
    }
    if (node.clickable) fill(image, b, LAUNCHER_TILE);
    image.print({ font: fonts.body, x: b.left + 24, y: midY(0, fonts.body), text: label });
  }
}
