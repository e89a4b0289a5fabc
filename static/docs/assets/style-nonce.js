// Loaded by GET /docs before Scalar's bundle. Scalar creates <style> elements at run time (its
// stylesheet, its theme, the CodeMirror editors' generated rules), which the page's CSP
// (`style-src 'self' 'nonce-…'`) only admits with the page's nonce: give every <style> element
// created by a script the nonce this script was loaded with. Style elements and attributes that
// arrive as markup (innerHTML, the parser) get no nonce and stay blocked.
(() => {
  const nonce = document.currentScript?.nonce;
  if (!nonce) return;
  const createElement = Document.prototype.createElement;
  Document.prototype.createElement = function (...args) {
    const element = createElement.apply(this, args);
    if (element instanceof HTMLStyleElement) element.nonce = nonce;
    return element;
  };
})();
