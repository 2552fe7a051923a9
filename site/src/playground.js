// The playground: an editor with Run, Stop and output. No tests, nothing saved.
import { ProgramWidget } from "./program.js";
import { el, readConfig } from "./ui.js";

export class PlaygroundWidget extends ProgramWidget {
  constructor(root) {
    const config = readConfig(root);
    super(root, config, {
      label: "Playground (Python)",
      initialCode: typeof config.starter === "string" ? config.starter : "",
    });
    root.append(
      el(
        "div",
        { class: "drona-playground__body" },
        this.editorHost,
        this.toolbar,
        this.status,
        this.stdinPanel || null,
        this.output.element,
      ),
    );
    this.refresh();
  }
}

export function mountPlayground(root) {
  return new PlaygroundWidget(root);
}
