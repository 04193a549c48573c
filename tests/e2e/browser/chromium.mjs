// Debian's chromium (never a browser of puppeteer's own), headless, for the page tests: started
// with a fresh profile and no background networking (this machine's network is closed).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

export async function launchChromium() {
  const profile = mkdtempSync(join(tmpdir(), "mastotape-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           `--user-data-dir=${profile}`],
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// What a page did wrong: console errors, uncaught exceptions, and requests that left the machine
// (anything but file:, data: and the allowed origin).
export function watchPage(page, allowedOrigin) {
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
  page.on("pageerror", (e) => problems.push("exception: " + e.message));
  page.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith("file:") && !url.startsWith("data:") &&
        !(allowedOrigin && url.startsWith(allowedOrigin))) {
      problems.push("request: " + url);
    }
  });
  return problems;
}

// The share of a PNG screenshot's pixels that are not near-white, counted in a blank page's
// canvas: 0 for a blank screenshot.
export async function inkedShare(browser, png) {
  const page = await browser.newPage();
  try {
    const url = "data:image/png;base64," + Buffer.from(png).toString("base64");
    return await page.evaluate(async (src) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      const canvas = document.createElement("canvas");
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, img.width, img.height).data;
      let inked = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i] < 235 || px[i + 1] < 235 || px[i + 2] < 235) inked++;
      }
      return inked / (px.length / 4);
    }, url);
  } finally {
    await page.close();
  }
}

// A real mouse click at the middle of the element `selector` matches (the page decides what is
// hit, as for a person).
export async function clickMiddle(page, selector) {
  const handle = await page.$(selector);
  if (!handle) throw new Error("nothing matches " + selector);
  const box = await handle.boundingBox();
  if (!box) throw new Error(selector + " is not displayed");
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}
