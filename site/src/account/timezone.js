// A time zone <select>: every IANA zone the browser knows, grouped by region, prefilled.
import { selectField } from "./forms.js";
import { modernTimeZone } from "../format.js";

const FALLBACK = ["UTC", "Africa/Cairo", "Africa/Johannesburg", "Africa/Lagos", "America/Chicago", "America/Denver",
  "America/Los_Angeles", "America/Mexico_City", "America/New_York", "America/Sao_Paulo", "America/Toronto",
  "Asia/Dubai", "Asia/Kolkata", "Asia/Shanghai", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
  "Europe/Berlin", "Europe/London", "Europe/Madrid", "Europe/Paris", "Pacific/Auckland"];

function zones() {
  try {
    if (typeof Intl.supportedValuesOf === "function") return Intl.supportedValuesOf("timeZone");
  } catch (_err) {
    /* older browsers */
  }
  return FALLBACK;
}

export function timeZoneField({ label = "Time zone", value, hint }) {
  const all = new Set(zones().map(modernTimeZone));
  all.add("UTC");
  if (value) all.add(value);
  const groups = {};
  for (const zone of Array.from(all).sort()) {
    const region = zone.includes("/") ? zone.split("/")[0] : "Other";
    (groups[region] = groups[region] || []).push([zone, zone.replace(/_/g, " ")]);
  }
  const ordered = Object.keys(groups).sort((a, b) => (a === "Other") - (b === "Other") || a.localeCompare(b))
    .map((region) => ({ [region]: groups[region] }));
  return selectField({ label, name: "timezone", options: ordered, value: value || "UTC", hint });
}
