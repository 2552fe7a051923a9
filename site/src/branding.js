// An organisation's branding on its members' pages (issue #16, §4.2): its logo beside the user menu
// and its colours as Material's primary and accent colours. GET /api/me/organization says what they
// are (null for a learner outside any organisation). Colours are #RRGGBB and the logo an https or
// data: image address: the API accepts nothing else, so nothing here is markup from the server.
import { api } from "./api.js";

const cache = new Map(); // organisation id -> Promise of { id, name, branding } (one read per page load)

/** The signed-in member's organisation and its branding, or null. */
export function organisationOf(user) {
  if (!user || !user.organization_id) return Promise.resolve(null);
  if (!cache.has(user.organization_id)) {
    cache.set(user.organization_id, api.get("me/organization").catch(() => null));
  }
  return cache.get(user.organization_id);
}

/** Relative luminance (WCAG 2) of #RRGGBB. */
function luminance(hex) {
  const channel = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/** Text on a background of `hex`: white or near-black, whichever contrasts more. */
function textOn(hex) {
  const l = luminance(hex);
  return (1.05) / (l + 0.05) >= (l + 0.05) / 0.05 ? "#ffffff" : "rgba(0, 0, 0, 0.87)";
}

const PROPERTIES = ["--md-primary-fg-color", "--md-primary-fg-color--light", "--md-primary-fg-color--dark",
  "--md-primary-bg-color", "--md-accent-fg-color"];

/** Set (or, with null, clear) the organisation's colours on the whole page. */
export function applyColours(branding) {
  const style = document.documentElement.style;
  PROPERTIES.forEach((name) => style.removeProperty(name));
  const primary = branding && branding.primary_color;
  const accent = branding && branding.accent_color;
  if (primary && /^#[0-9a-f]{6}$/i.test(primary)) {
    ["--md-primary-fg-color", "--md-primary-fg-color--light", "--md-primary-fg-color--dark"]
      .forEach((name) => style.setProperty(name, primary));
    style.setProperty("--md-primary-bg-color", textOn(primary));
  }
  if (accent && /^#[0-9a-f]{6}$/i.test(accent)) style.setProperty("--md-accent-fg-color", accent);
  document.documentElement.dataset.dronaBranded = primary || accent ? "true" : "false";
}

/** Forget what was read (an admin just changed it): the next organisationOf reads it again. */
export function forgetOrganisation() {
  cache.clear();
}
