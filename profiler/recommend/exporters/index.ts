// Format name → exporter: `balloon recommend --format NAME` and the editor pick one here.
import { exportApache } from "./apache";
import type { Exporter } from "./common";
import { exportFlup } from "./flup";
import { exportGunicorn } from "./gunicorn";
import { exportJson } from "./json";
import { exportKubernetes } from "./kubernetes";
import { exportModWsgi } from "./mod-wsgi";
import { exportSystemd } from "./systemd";
import { exportUwsgi } from "./uwsgi";

export const EXPORTERS = {
  gunicorn: exportGunicorn,
  uwsgi: exportUwsgi,
  mod_wsgi: exportModWsgi,
  apache: exportApache,
  flup: exportFlup,
  systemd: exportSystemd,
  kubernetes: exportKubernetes,
  json: exportJson,
} as const satisfies Record<string, Exporter>;

export type ExportFormat = keyof typeof EXPORTERS;

export const EXPORT_FORMATS = Object.keys(EXPORTERS) as ExportFormat[];

export function isExportFormat(name: string): name is ExportFormat {
  return Object.hasOwn(EXPORTERS, name);
}

export { ExportError, type ExportOptions, type ExportedFile, type Exporter } from "./common";
