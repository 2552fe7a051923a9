// CodeMirror 6 editor for Python, themed from Material's CSS variables (light and slate).
import { EditorState } from "@codemirror/state";
import {
  EditorView,
  keymap,
  lineNumbers,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  drawSelection,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  indentOnInput,
  bracketMatching,
  syntaxHighlighting,
  defaultHighlightStyle,
  HighlightStyle,
  indentUnit,
} from "@codemirror/language";
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { python } from "@codemirror/lang-python";
import { tags as t } from "@lezer/highlight";

let counter = 0;

// Colours come from Material's code highlighting variables, so both schemes read well.
const materialHighlight = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.operatorKeyword, t.definitionKeyword, t.moduleKeyword], color: "var(--md-code-hl-keyword-color)" },
  { tag: [t.string, t.special(t.string), t.regexp], color: "var(--md-code-hl-string-color)" },
  { tag: [t.number, t.bool, t.null, t.atom], color: "var(--md-code-hl-number-color)" },
  { tag: [t.comment, t.lineComment, t.blockComment], color: "var(--md-code-hl-comment-color)", fontStyle: "italic" },
  { tag: [t.function(t.variableName), t.function(t.propertyName), t.function(t.definition(t.variableName))], color: "var(--md-code-hl-function-color)" },
  { tag: [t.className, t.definition(t.className), t.typeName], color: "var(--md-code-hl-constant-color)" },
  { tag: [t.standard(t.variableName), t.self], color: "var(--md-code-hl-constant-color)" },
  { tag: t.operator, color: "var(--md-code-hl-operator-color)" },
  { tag: [t.punctuation, t.bracket], color: "var(--md-code-hl-punctuation-color)" },
  { tag: t.special(t.variableName), color: "var(--md-code-hl-special-color)" },
  { tag: t.invalid, color: "var(--md-code-hl-generic-color)" },
]);

const theme = EditorView.theme({
  "&": {
    color: "var(--md-code-fg-color)",
    backgroundColor: "var(--md-code-bg-color)",
    fontSize: "0.8rem",
  },
  ".cm-content": {
    fontFamily: "var(--md-code-font-family, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace)",
    caretColor: "var(--md-typeset-color)",
    padding: "0.5rem 0",
  },
  ".cm-scroller": { fontFamily: "inherit", lineHeight: "1.5" },
  "&.cm-focused .cm-cursor": { borderLeftColor: "var(--md-typeset-color)" },
  ".cm-gutters": {
    backgroundColor: "var(--md-code-bg-color)",
    color: "var(--md-default-fg-color--light)",
    borderRight: "1px solid var(--md-default-fg-color--lightest)",
  },
  ".cm-activeLine": { backgroundColor: "var(--drona-active-line)" },
  ".cm-activeLineGutter": { backgroundColor: "var(--drona-active-line)" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection": {
    backgroundColor: "var(--drona-selection) !important",
  },
  ".cm-matchingBracket": { backgroundColor: "var(--drona-bracket)", outline: "none" },
});

/**
 * Create an editor inside `parent`.
 * options: {doc, label, onRun, onChange, describedBy}
 */
export function createEditor(parent, options) {
  counter += 1;
  const hintId = `drona-editor-hint-${counter}`;
  const hint = document.createElement("p");
  hint.id = hintId;
  hint.className = "drona-visually-hidden";
  hint.textContent =
    "Python code editor. Ctrl+Enter (Cmd+Enter on a Mac) runs the program. " +
    "Tab indents; press Escape and then Tab to move focus out of the editor.";

  const runKey = {
    key: "Mod-Enter",
    preventDefault: true,
    run: () => {
      if (options.onRun) options.onRun();
      return true;
    },
  };

  const extensions = [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    history(),
    drawSelection(),
    indentUnit.of("    "),
    EditorState.tabSize.of(4),
    indentOnInput(),
    bracketMatching(),
    closeBrackets(),
    highlightActiveLine(),
    python(),
    syntaxHighlighting(materialHighlight),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    keymap.of([runKey, ...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, indentWithTab]),
    theme,
    EditorView.contentAttributes.of({
      "aria-label": options.label || "Python code",
      "aria-describedby": [hintId, options.describedBy].filter(Boolean).join(" "),
      "aria-multiline": "true",
      // contenteditable is focusable already; the explicit tabindex tells checkers (axe-core's
      // scrollable-region-focusable) that a long line's horizontal scroller is keyboard-reachable.
      tabindex: "0",
      spellcheck: "false",
      autocapitalize: "off",
      autocorrect: "off",
    }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged && options.onChange) options.onChange(update.state.doc.toString());
    }),
  ];

  const view = new EditorView({
    state: EditorState.create({ doc: options.doc || "", extensions }),
    parent,
  });
  parent.appendChild(hint);

  return {
    view,
    getCode: () => view.state.doc.toString(),
    setCode: (code) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } }),
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
