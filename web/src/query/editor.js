// The SQL editor: CodeMirror 6 with SQL highlighting and completion of the catalog's tables and
// columns (reconfigured when the catalog arrives). Ctrl/Cmd+Enter runs. Tab is not captured, so
// keyboard users can leave the editor.
import { EditorView, basicSetup } from 'codemirror';
import { Compartment, Prec } from '@codemirror/state';
import { keymap } from '@codemirror/view';
import { sql, StandardSQL } from '@codemirror/lang-sql';
import { installAdoptedStyles } from './styles.js';

const DRAFT_KEY = 'sluice.query-draft';

// Typing or deleting over a selection that spans lines lets the browser merge the lines' elements,
// and Chrome keeps their look with style attributes, which the CSP blocks (a console error). The
// editor applies such edits itself instead, over the range the browser was about to replace (the
// DOM selection, which CodeMirror may not have read yet when a script or a test set it).
const replaceSelectionsItself = EditorView.domEventHandlers({
  beforeinput(event, view) {
    if (view.composing) return false;
    let insert;
    if (event.inputType === 'insertText' && typeof event.data === 'string') insert = event.data;
    else if (event.inputType === 'deleteContentBackward' || event.inputType === 'deleteContentForward') insert = '';
    else return false;
    const target = event.getTargetRanges ? event.getTargetRanges()[0] : null;
    let from;
    let to;
    if (target && !target.collapsed) {
      try {
        from = view.posAtDOM(target.startContainer, target.startOffset);
        to = view.posAtDOM(target.endContainer, target.endOffset);
      } catch {
        return false;
      }
    } else {
      const main = view.state.selection.main;
      if (main.empty || view.state.selection.ranges.length > 1) return false;
      ({ from, to } = main);
    }
    if (from > to) [from, to] = [to, from];
    event.preventDefault();
    view.dispatch({
      changes: { from, to, insert },
      selection: { anchor: from + insert.length },
      userEvent: insert ? 'input.type' : 'delete.selection',
      scrollIntoView: true,
    });
    return true;
  },
});

export function createEditor(host, { onRun }) {
  installAdoptedStyles();
  const language = new Compartment();
  const view = new EditorView({
    parent: host,
    doc: sessionStorage.getItem(DRAFT_KEY) || 'SELECT 1',
    extensions: [
      basicSetup,
      language.of(sql({ dialect: StandardSQL, upperCaseKeywords: true })),
      Prec.highest(keymap.of([{ key: 'Mod-Enter', run: () => (onRun(), true) }])),
      EditorView.contentAttributes.of({ 'aria-label': 'SQL', 'aria-multiline': 'true' }),
      EditorView.lineWrapping,
      replaceSelectionsItself,
      EditorView.updateListener.of((update) => {
        if (update.docChanged) sessionStorage.setItem(DRAFT_KEY, update.state.doc.toString());
      }),
    ],
  });
  return {
    view,
    text: () => view.state.doc.toString(),
    setText(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    // `schema`: {"db.table": [columns], "table": [columns]} (sql()'s schema option).
    setSchema(schema) {
      view.dispatch({ effects: language.reconfigure(sql({ dialect: StandardSQL, upperCaseKeywords: true, schema })) });
    },
    destroy: () => view.destroy(),
  };
}
