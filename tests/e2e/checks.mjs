// Assertions on what a person sees, shared by the specs. Each throws with a message saying what was wrong.
import assert from 'node:assert/strict';

const T = 60_000;

/** Polls `fn` until it returns a truthy value; returns it, or throws `message` after `timeout` ms. */
export async function until(fn, message, timeout = T) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${message} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/** Returns the badge text once the engine reports a backend. */
export async function badgeText(page) {
  const badge = page.getByTestId('backend-badge');
  await until(async () => (await badge.getAttribute('data-backend')) !== 'none', 'backend badge never left "starting"');
  return (await badge.textContent()).trim();
}

/** Asserts the header shows exactly `backend`: "WebGPU · <adapter>" or "WASM · <n> thread(s)". */
export async function assertBackend(page, backend) {
  const text = await badgeText(page);
  const attr = await page.getByTestId('backend-badge').getAttribute('data-backend');
  if (backend === 'webgpu') {
    assert.match(text, /^WebGPU · \S.*$/, `header should say WebGPU with an adapter, says "${text}"`);
    assert.equal(attr, 'webgpu');
  } else {
    assert.match(text, /^WASM · \d+ threads?$/, `header should say "WASM · <n> threads", says "${text}"`);
    assert.equal(attr, 'wasm');
  }
  return text;
}

/** Waits until the loaded-bundle card shows bundle `id`. */
export async function waitLoaded(page, id) {
  await page.locator(`[data-testid="loaded-bundle"][data-bundle-id="${id}"]`).waitFor({ timeout: T });
  await page.getByTestId('load-progress').waitFor({ state: 'detached', timeout: T });
}

/** Returns the error banner's text once it is visible. */
export async function bannerText(page) {
  const banner = page.getByTestId('error-banner');
  await banner.waitFor({ timeout: T });
  return (await banner.locator('p').textContent()).trim();
}
