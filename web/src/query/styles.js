// CodeMirror styles under the console's CSP. style-mod (CodeMirror's styling) writes a <style>
// element when it mounts on a document, which `style-src 'self'` blocks (the editor would show
// unstyled); it uses a constructable stylesheet only inside shadow roots. This replaces its mount
// with one that always keeps the rules, in CodeMirror's order, in one adopted CSSStyleSheet, which
// the CSP does not govern (no markup is parsed, nothing inline is executed).
import { StyleModule } from 'style-mod';

let installed = false;

export function installAdoptedStyles() {
  if (installed || typeof CSSStyleSheet === 'undefined' || !('adoptedStyleSheets' in Document.prototype)) return;
  installed = true;
  const sheet = new CSSStyleSheet();
  let current = [];
  StyleModule.mount = (root, modules) => {
    const list = Array.isArray(modules) ? modules : [modules];
    const same = list.length === current.length && list.every((m, i) => m === current[i]);
    if (!same) {
      current = list.slice();
      sheet.replaceSync(list.map((m) => m.getRules()).join('\n'));
    }
    const target = root.adoptedStyleSheets ? root : document;
    if (!target.adoptedStyleSheets.includes(sheet)) target.adoptedStyleSheets = [sheet, ...target.adoptedStyleSheets];
  };
}
