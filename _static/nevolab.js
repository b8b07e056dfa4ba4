/* Tables read on any screen (with nevolab.css).
   1. Every word and number of a table cell stays on one line: a cell's tokens (text between
      spaces) that hold a character a browser may break after (a hyphen or dash as in
      "Mann–Whitney" and "1.6e-05", a slash, a sign) are wrapped in <span class="nevolab-token">,
      which nevolab.css sets `white-space: nowrap`. Cells still wrap between tokens.
   2. A table too wide for its column scrolls sideways inside it; there, every cell squeezes to its
      longest word, which stacks a column of prose one word a line. A column with long text
      (PROSE characters or more in some cell) then gets a readable minimum width instead; this is
      redone when the window's width changes. */
(() => {
  const BREAKABLE = /[^\s\p{L}\p{N}'’.,;:()[\]]/u;
  const PROSE = 50;
  const article = () => document.querySelector("article.bd-article") || document.body;

  const keepTokens = () => {
    for (const cell of article().querySelectorAll("td, th")) {
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

  const scrollerOf = (table, root) => {
    for (let el = table.parentElement; el && el !== root.parentElement; el = el.parentElement) {
      if (/auto|scroll/.test(getComputedStyle(el).overflowX)) return el;
    }
    return null;
  };

  const widenProse = () => {
    const root = article();
    for (const cell of root.querySelectorAll(".nevolab-prose")) cell.classList.remove("nevolab-prose");
    for (const table of root.querySelectorAll("table")) {
      const scroller = scrollerOf(table, root);
      if (!scroller || table.scrollWidth <= scroller.clientWidth + 1) continue;
      const long = new Set();
      const cells = [];
      for (const row of table.rows) {
        let column = 0;
        for (const cell of row.cells) {
          cells.push([cell, column]);
          if (cell.colSpan === 1 && cell.textContent.trim().length >= PROSE) long.add(column);
          column += cell.colSpan;
        }
      }
      for (const [cell, column] of cells) {
        if (cell.colSpan === 1 && long.has(column)) cell.classList.add("nevolab-prose");
      }
    }
  };

  const start = () => {
    keepTokens();
    widenProse();
    let width = window.innerWidth;
    window.addEventListener("resize", () => {
      if (window.innerWidth !== width) {
        width = window.innerWidth;
        widenProse();
      }
    });
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
