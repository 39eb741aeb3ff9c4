// Raw paths and their folded routes, for both folds: record/fold-path.ts (unit) and the gunicorn
// recorder's Python _fold_path (production-recordings.test.mjs).
export const FOLDS = [
  ["/users/42", "/users/<int>"],
  ["/users/42/orders/7", "/users/<int>/orders/<int>"],
  ["/users/9f86d081884c7d65", "/users/<id>"],
  ["/items/123e4567-e89b-12d3-a456-426614174000/edit", "/items/<id>/edit"],
  ["/hex/9f86d081884c7d6", "/hex/9f86d081884c7d6"], // 15 hex digits: a word, not an id
  ["/v2/about", "/v2/about"],
  ["/", "/"],
  ["", ""],
  ["/a//7/", "/a//<int>/"],
  ["/users/42x", "/users/42x"],
  ["/caf\u00e9/12", "/caf\u00e9/<int>"],
  ["/users/\u0661\u0662", "/users/\u0661\u0662"], // Arabic-Indic digits are not [0-9]
  ["/alice/cal/6e4c3a5b-5f2e-4b1a-9c3d-2e1f0a9b8c7d.ics", "/alice/cal/<id>.ics"], // a CalDAV item
  ["/reports/42.pdf", "/reports/<int>.pdf"],
  ["/reports/2024.tar.gz", "/reports/2024.tar.gz"], // only one extension
  ["/pi/3.14", "/pi/3.14"], // an extension starts with a letter
  ["/files/.env", "/files/.env"],
  ["/static/app.css", "/static/app.css"],
  ["/data/9f86d081884c7d65.json", "/data/<id>.json"],
];

