// Opens the gateway's landing page in Chromium the way a newcomer does, with Apollo's CDN and
// embed replaced by stand-ins (these machines cannot reach them): the stand-in script records
// the configuration our page hands to `new EmbeddedSandbox(...)` and opens the embed's iframe,
// so the page's own script, its Content-Security-Policy and its WebSocket are all exercised.
// Every other outside request (fonts, icons) is refused.

import { launchChromium } from './browser.ts';

const SANDBOX_SCRIPT_HOST = 'embeddable-sandbox.cdn.apollographql.com';
const SANDBOX_FRAME_URL = 'https://sandbox.embed.apollographql.com/sandbox/explorer';

/** Stands in for Apollo's embeddable-sandbox script (browser code, kept as text). */
const STAND_IN_SCRIPT = `
window.EmbeddedSandbox = function (config) {
  window.__sandboxConfig = config;
  var frame = document.createElement('iframe');
  frame.src = ${JSON.stringify(SANDBOX_FRAME_URL)};
  document.querySelector(config.target).appendChild(frame);
};`;

const STAND_IN_FRAME = '<!doctype html><p id="stand-in">Apollo Sandbox would be here</p>';

/** Runs before any script of the page: records what the Content-Security-Policy blocks. */
const RECORD_CSP_VIOLATIONS = `
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + e.blockedURI);
});`;

/**
 * In the page: what Sandbox does for a subscription, over graphql-ws's protocol by hand, with
 * its headers as the connection parameters. Resolves with the first result.
 */
const SUBSCRIBE_FROM_PAGE = `({ token, orderId }) => new Promise((resolve, reject) => {
  const socket = new WebSocket(location.href.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const timer = setTimeout(() => reject(new Error('no subscription result within 10 s')), 10000);
  socket.onopen = () =>
    socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: 'Bearer ' + token } }));
  socket.onmessage = (message) => {
    const msg = JSON.parse(message.data);
    if (msg.type === 'connection_ack') {
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: {
        query: 'subscription Watch($id: ID!) { orderStatusChanged(orderId: $id) { id items { product { id } } } }',
        variables: { id: orderId },
      } }));
    } else if (msg.type === 'next' || msg.type === 'error') {
      clearTimeout(timer);
      socket.close(1000);
      resolve(msg.type === 'next' ? msg.payload : { errors: msg.payload });
    }
  };
  socket.onclose = (e) => { clearTimeout(timer); reject(new Error('socket closed: ' + e.code + ' ' + e.reason)); };
})`;

export interface SandboxConfig {
  initialEndpoint: string;
  initialState: { document: string; headers: Record<string, string>; variables: Record<string, unknown> };
}

export interface LandingPageReport {
  /** Uncaught exceptions of the page's scripts. */
  readonly scriptErrors: string[];
  readonly cspViolations: string[];
  /** The Content-Security-Policy in force: the response header's and the page's meta tag's. */
  readonly csp: string;
  /** What the page handed to `new EmbeddedSandbox(...)`. */
  readonly sandboxConfig: SandboxConfig;
  /** Whether the embed's iframe loaded (the policy's frame-src allows it). */
  readonly embedFrameLoaded: boolean;
  readonly subscriptionFirstEvent: unknown;
}

export async function checkLandingPage(
  gatewayUrl: string,
  subscription: { token: string; orderId: string },
): Promise<LandingPageReport> {
  const browser = await launchChromium();
  try {
    const { context } = browser;
    const ours = new URL(gatewayUrl).origin;
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.origin === ours) return route.continue();
      if (url.hostname === SANDBOX_SCRIPT_HOST)
        return route.fulfill({ contentType: 'text/javascript', body: STAND_IN_SCRIPT });
      if (url.href.startsWith(SANDBOX_FRAME_URL))
        return route.fulfill({ contentType: 'text/html', body: STAND_IN_FRAME });
      return route.abort();
    });
    await context.addInitScript({ content: RECORD_CSP_VIOLATIONS });
    const page = context.pages()[0] ?? (await context.newPage());
    const scriptErrors: string[] = [];
    page.on('pageerror', (error) => scriptErrors.push(error.message));

    const response = await page.goto(gatewayUrl, { waitUntil: 'load' });
    if (!response?.ok()) throw new Error(`the landing page answered HTTP ${response?.status()}`);
    const embedFrameLoaded = await page
      .frameLocator('#embeddableSandbox iframe')
      .locator('#stand-in')
      .waitFor({ timeout: 10_000 })
      .then(() => true)
      .catch(() => false);
    const meta = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    const header = response.headers()['content-security-policy'];
    return {
      scriptErrors,
      cspViolations: (await page.evaluate('window.__cspViolations')) as string[],
      csp: [header, meta].filter(Boolean).join('; '),
      sandboxConfig: (await page.evaluate('window.__sandboxConfig')) as SandboxConfig,
      embedFrameLoaded,
      subscriptionFirstEvent: await page.evaluate(
        `(${SUBSCRIBE_FROM_PAGE})(${JSON.stringify(subscription)})`,
      ),
    };
  } finally {
    await browser.close();
  }
}
