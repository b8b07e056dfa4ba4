/* Keep every word and number of a table cell on one line: a cell's tokens (text between spaces)
   that hold a character a browser may break after (a hyphen or dash as in "Mann–Whitney" and
   "1.6e-05", a slash, a sign) are wrapped in <span class="nevolab-token">, which nevolab.css
   sets `white-space: nowrap`. Cells still wrap between tokens; a table that cannot fit scrolls
   sideways inside its column. Letters and digits alone never break (the CSS sees to that). */
(() => {
  const BREAKABLE = /[^\s\p{L}\p{N}'’.,;:()[\]]/u;
  const keepTokens = () => {
    const article = document.querySelector("article.bd-article") || document.body;
    for (const cell of article.querySelectorAll("td, th")) {
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      const nodes = [];
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (BREAKABLE.test(node.data) && !node.parentElement.closest(".nevolab-token, style, script")) {
          nodes.push(node);
        }
      }
      for (const node of nodes) {
        const fragment = document.createDocumentFragment();
        for (const part of node.data.split(/(\s+)/)) {
          if (part && !/^\s+$/.test(part) && BREAKABLE.test(part)) {
            const span = document.createElement("span");
            span.className = "nevolab-token";
            span.textContent = part;
            fragment.append(span);
          } else if (part) {
            fragment.append(part);
          }
        }
        node.replaceWith(fragment);
      }
    }
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", keepTokens);
  } else {
    keepTokens();
  }
})();
