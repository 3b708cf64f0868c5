// The mock shop's own script: shows one product per URL hash, keeps a cart count, and records the widget's events.
//
// It stands in for a merchant's theme code. The widget needs none of it: it is here so the
// demo behaves like a shop (the widget's "Add to cart" adds to this cart) and so the
// end-to-end tests can read what the host page received (window.shopEvents).
(() => {
  "use strict";
  window.shopEvents = [];
  const products = () => document.querySelectorAll(".shop-product");

  function show() {
    const wanted = (location.hash || "#tee").slice(1);
    let shown = null;
    for (const product of products()) {
      product.hidden = product.id !== wanted;
      if (!product.hidden) shown = product;
    }
    if (!shown) products()[0].hidden = false;
    // The hash names a product, not a place on the page: every product page starts at the top.
    window.scrollTo(0, 0);
    const title = (shown || products()[0]).querySelector("h1").textContent;
    document.title = `Mock Shop · ${title}`;
  }

  function addToCart() {
    const count = document.getElementById("shop-cart-count");
    count.textContent = String(Number(count.textContent) + 1);
  }

  // ?lang=zh-CN shows every widget in Chinese, as a shop's language switch would. A deferred
  // script runs after parsing, so the elements exist; the loader (deferred after this file)
  // then draws them in that language.
  const lang = new URLSearchParams(location.search).get("lang");
  if (lang) {
    document.documentElement.lang = lang;
    for (const widget of document.querySelectorAll("virtual-tryon")) widget.setAttribute("locale", lang);
  }

  document.addEventListener("DOMContentLoaded", () => {
    show();
    for (const button of document.querySelectorAll("[data-add-to-cart]")) button.addEventListener("click", addToCart);
  });
  window.addEventListener("hashchange", show);

  // The widget's events bubble out of its shadow root; a shop forwards them to analytics.
  for (const type of ["open", "close", "photo", "submit", "status", "result", "error", "download", "add-to-cart", "unavailable"]) {
    document.addEventListener(`tryon:${type}`, (event) => {
      window.shopEvents.push({ type: event.type, detail: event.detail });
      if (event.type === "tryon:add-to-cart") addToCart();
    });
  }
})();
