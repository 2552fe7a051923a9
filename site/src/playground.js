// The playground: an editor with Run, Stop and output. No tests, nothing saved.
import { ProgramWidget } from "./program.js";
import { runner } from "./runner.js";
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
        this.visualizer.element,
      ),
    );
    this.refresh();
    if (root.hasAttribute("data-visualize")) this.drawWhenSeen();
  }

  /** ::visualize: an authored diagram, traced and drawn once it scrolls into view. */
  drawWhenSeen() {
    this.root.classList.add("drona-playground--visualize");
    if (typeof IntersectionObserver !== "function") {
      runner.ready.then(() => this.visualize(), () => {});
      return;
    }
    this.observer = new IntersectionObserver((entries) => {
      if (!entries.some((entry) => entry.isIntersecting)) return;
      this.observer.disconnect();
      runner.ready.then(() => {
        if (!this.disposed && !this.visualizer.visible) this.visualize();
      }, () => {});
    });
    this.observer.observe(this.root);
  }

  dispose() {
    if (this.observer) this.observer.disconnect();
    super.dispose();
  }
}

export function mountPlayground(root) {
  return new PlaygroundWidget(root);
}
