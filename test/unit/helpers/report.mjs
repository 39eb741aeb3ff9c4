// Lookups in a Report for the unit tests.
import assert from "node:assert/strict";

export const routeOf = (report, route, method = "GET") => {
  const found = report.routes.find((r) => r.route === route && r.method === method);
  assert.ok(found, `route ${method} ${route} in report (routes: ${report.routes.map((r) => r.route).join(", ")})`);
  return found;
};

/** Every route with its verdicts (flags primary first, then "undecided"), for whole-report assertions. */
export const verdictsOf = (report) => Object.fromEntries(report.routes.map((r) => [r.route, r.verdicts.map((v) => v.flag).join(",")]));

/** The route's undecided verdict, or undefined. */
export const undecidedOf = (route) => route.verdicts.find((v) => v.flag === "undecided");
