// The try-on loader: defines <virtual-tryon>, draws its button in a shadow root, and loads the WebAssembly bundle on the first sign of a tap.
//
// This file is the only thing a product page pays for before a shopper shows an intent to
// tap (budget: 5 KB brotli). It is a classic script, not a module, so that
// `document.currentScript` tells it where it was loaded from: the bundle
// (`tryon-widget.js`, `tryon-widget_bg.wasm`) and the dialog's styles (`widget.css`) sit
// next to it under fixed names (Trunk.toml sets `filehash = false`), so one loader URL is
// all a shop needs to know.
(() => {
  "use strict";
  if (customElements.get("virtual-tryon")) return;

  const base = new URL(".", document.currentScript ? document.currentScript.src : location.href).href;

  // The button's words exist before any WebAssembly does, so they are repeated here from
  // src/i18n.rs (a unit test there checks that the two copies agree).
  const WORDS = {
    en: { tryItOn: "Try it on", unavailable: "Try-on is unavailable right now" },
    zh: { tryItOn: "试穿一下", unavailable: "试衣暂不可用" },
  };

  // Everything the host page could inherit into the shadow root is reset on :host; the
  // shop themes the widget only through the --tryon-* custom properties and ::part(button).
  const STYLE = `
:host{all:initial;display:inline-block;font-family:var(--tryon-font,system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif);font-size:16px;line-height:1.4;color:#111827}
:host([hidden]){display:none}
.vto-open{appearance:none;border:0;border-radius:var(--tryon-radius,999px);padding:.7em 1.6em;font:inherit;font-weight:600;cursor:pointer;background:var(--tryon-accent,#1f2937);color:var(--tryon-accent-text,#fff);min-height:44px}
.vto-open:hover{filter:brightness(1.15)}
.vto-open:focus-visible{outline:3px solid var(--tryon-focus,#2563eb);outline-offset:2px}
.vto-open[aria-busy=true]{cursor:progress;opacity:.8}
.vto-unavailable{margin:0;color:#4b5563;font-size:.9em}`;

  // One status request per proxy, shared by every element on the page. A shopper who
  // asked the widget to remember their photo has their token kept under this key (see
  // src/remembered.rs); sent back, it makes the proxy recognise the photo as theirs.
  const statuses = new Map();
  function status(proxy) {
    if (!statuses.has(proxy)) {
      const url = proxy.replace(/\/+$/, "") + "/api/v1/tryon/status";
      let token = null;
      try {
        token = localStorage.getItem("vto-shopper:" + proxy);
      } catch (_) {
        // Storage may be off (private modes, sandboxed frames): nothing was remembered.
      }
      statuses.set(
        proxy,
        fetch(url, { credentials: proxy ? "include" : "same-origin", headers: token ? { "X-Tryon-Shopper": token } : {} })
          .then((r) => (r.ok ? r.json() : null))
          .catch(() => null),
      );
    }
    return statuses.get(proxy);
  }

  // What the proxy's upstream can do, asked once per proxy on the first sign of a tap
  // (never on page load: a product page pays for the status call only) and in parallel
  // with the bundle download; the dialog offers nothing else. A failed call gives null:
  // everything.
  const capabilities = new Map();
  function capabilitiesOf(proxy) {
    if (!capabilities.has(proxy)) {
      const url = proxy.replace(/\/+$/, "") + "/api/v1/tryon/capabilities";
      capabilities.set(
        proxy,
        fetch(url)
          .then((r) => (r.ok ? r.json() : null))
          .catch(() => null),
      );
    }
    return capabilities.get(proxy);
  }

  // The bundle is imported and initialised once, however many elements the page has. The
  // WebAssembly is fetched and compiled while the glue downloads, not after it; a server
  // that does not call it application/wasm (which streaming compilation requires) costs
  // a second, cached fetch instead of a broken widget.
  let bundle;
  function loadBundle() {
    if (!bundle) {
      const wasm = base + "tryon-widget_bg.wasm";
      const compiled = WebAssembly.compileStreaming(fetch(wasm)).catch(() =>
        fetch(wasm)
          .then((r) => r.arrayBuffer())
          .then((bytes) => WebAssembly.compile(bytes)),
      );
      bundle = Promise.all([import(base + "tryon-widget.js"), compiled]).then(async ([mod, module]) => {
        await mod.default({ module_or_path: module });
        return mod;
      });
      bundle.catch(() => (bundle = undefined));
    }
    return bundle;
  }

  // ---- Funnel events for the shop's dashboard (README "Dashboard"; the proxy's side is
  // crates/tryon-proxy/src/routes/events.rs). Nothing leaves the page before the shopper's
  // first tap: "shown" (the button came on screen) waits in a queue and goes with the first
  // "open"; after that each step goes as it happens. A beacon carries product ids, step
  // names, times, a result's task id and the status call's shopper token (a beacon cannot
  // set headers), never the photo or any URL. It is sent as text/plain, which needs no CORS
  // preflight: a beacon cannot make one.
  const queued = new Map();
  const tapped = new Set();
  function funnel(el) {
    // A browser without IntersectionObserver (Safari before 12.1) reports no "shown".
    if (self.IntersectionObserver) {
      const seen = new IntersectionObserver((entries) => {
        if (entries.some((entry) => entry.isIntersecting)) {
          seen.disconnect();
          track(el, "shown", {});
        }
      });
      seen.observe(el);
    }
    for (const step of ["open", "photo", "submit", "result", "add-to-cart"]) {
      el.addEventListener("tryon:" + step, (event) => track(el, step, event.detail || {}));
    }
  }
  function track(el, name, detail) {
    const proxy = el.attr("proxy") || "";
    const events = queued.get(proxy) || [];
    const product = detail.productId || el.attr("product-id") || el.attr("product-name") || "";
    events.push({ name, product, at: Date.now(), task: detail.taskId });
    if (name === "open") tapped.add(proxy);
    if (!tapped.has(proxy)) return queued.set(proxy, events);
    queued.delete(proxy);
    // The proxy takes at most 20 events a batch; a page of many buttons sends several.
    while (events.length) {
      const body = JSON.stringify({ token: el.token || undefined, events: events.splice(0, 20) });
      try {
        navigator.sendBeacon(proxy.replace(/\/+$/, "") + "/api/v1/tryon/events", body);
      } catch (_) {
        // A page whose policy forbids beacons simply sends none; the widget works on.
      }
    }
  }
  // ---- End of the funnel events.

  // The first signs that a shopper is about to tap: the pointer over the button, a finger
  // or pen on it, or keyboard focus. Any of them starts the downloads of the first tap.
  const INTENT = ["pointerenter", "pointerdown", "touchstart", "focus"];

  class VirtualTryon extends HTMLElement {
    static get observedAttributes() {
      return ["locale"];
    }

    // A page that switches language after load gets the button in the new language; the
    // dialog reads its attributes when it is first opened.
    attributeChangedCallback() {
      if (this.button) this.button.textContent = this.words().tryItOn;
    }

    connectedCallback() {
      if (this.shadowRoot) return;
      const root = this.attachShadow({ mode: "open" });
      const words = this.words();
      root.innerHTML =
        `<style>${STYLE}</style><button type="button" class="vto-open" part="button" aria-haspopup="dialog" aria-expanded="false"></button>` +
        `<p class="vto-unavailable" part="unavailable" hidden></p>`;
      this.button = root.querySelector(".vto-open");
      this.button.textContent = words.tryItOn;
      this.button.addEventListener("click", () => this.open());
      funnel(this);
      for (const type of INTENT) this.button.addEventListener(type, () => this.prepare(), { passive: true });
      status(this.attr("proxy") || "").then((answer) => {
        this.token = (answer && answer.shopper_token) || "";
        if (answer && answer.available === false) {
          // Caps spent or try-on switched off: say so instead of offering a button.
          const note = root.querySelector(".vto-unavailable");
          note.textContent = words.unavailable;
          note.hidden = false;
          this.button.hidden = true;
          this.emit("tryon:unavailable", { reason: answer.reason || "" });
        }
      });
    }

    attr(name) {
      const value = this.getAttribute(name) ?? this.getAttribute("data-" + name);
      return value == null ? null : value.trim();
    }

    words() {
      const tag = this.attr("locale") || navigator.language || "en";
      return tag.toLowerCase().startsWith("zh") ? WORDS.zh : WORDS.en;
    }

    emit(type, detail) {
      const productId = this.attr("product-id") || this.attr("product-name") || "";
      this.dispatchEvent(new CustomEvent(type, { bubbles: true, composed: true, detail: { productId, ...detail } }));
    }

    // Starts everything the dialog needs (the bundle, its styles, the capabilities), once;
    // the answer is the dialog's styles loading, settled either way.
    prepare() {
      if (!this.styled) {
        const styles = document.createElement("link");
        styles.rel = "stylesheet";
        styles.href = base + "widget.css";
        this.styled = new Promise((done) => {
          styles.onload = styles.onerror = done;
        });
        this.shadowRoot.appendChild(styles);
      }
      loadBundle().catch(() => {});
      capabilitiesOf(this.attr("proxy") || "");
      return this.styled;
    }

    // Opens the dialog; a shop may also call it itself (element.open()).
    async open() {
      this.emit("tryon:open", { kind: this.attr("garment-kind") || "" });
      if (this.handle) return this.handle.open();
      if (this.loading) return;
      this.loading = true;
      this.button.setAttribute("aria-busy", "true");
      try {
        const styled = this.prepare();
        // The shopper token is worth a short wait, not a stuck dialog: a slow status answer
        // gives up after three seconds (the proxy's cookie still identifies the shopper).
        const proxy = this.attr("proxy") || "";
        const late = new Promise((done) => setTimeout(done, 3000));
        const token = Promise.race([status(proxy), late]);
        // The same patience for the capabilities: a slow answer offers everything.
        const offer = Promise.race([capabilitiesOf(proxy), late]);
        const [mod, , , caps] = await Promise.all([loadBundle(), styled, token, offer]);
        this.handle = mod.mount(this, this.shadowRoot, this.button, base, this.token || "", caps || null);
      } catch (error) {
        this.emit("tryon:error", { code: "Widget.LoadFailed" });
        console.error("virtual-tryon: the try-on bundle could not be loaded", error);
      } finally {
        this.loading = false;
        this.button.removeAttribute("aria-busy");
      }
    }
  }

  // Inside a Shopify storefront the try-on events also go to the shop's Web Pixels, as
  // custom events (a pixel subscribes to "tryon:result", or to all_custom_events), with the
  // same details: ids and codes, never the photo. Shopify's analytics is looked up when an
  // event fires, since the storefront may define it after this script has run.
  for (const name of ["open", "close", "photo", "submit", "status", "result", "error", "download", "add-to-cart", "unavailable"]) {
    document.addEventListener("tryon:" + name, (event) => {
      const analytics = window.Shopify && window.Shopify.analytics;
      if (!analytics || typeof analytics.publish !== "function") return;
      try {
        analytics.publish(event.type, event.detail || {});
      } catch (error) {
        console.warn("virtual-tryon: Shopify.analytics.publish failed", error);
      }
    });
  }

  customElements.define("virtual-tryon", VirtualTryon);
})();
