// Kubernetes container resources (spec.template.spec.containers[].resources): the memory
// request is what the scheduler sets aside (the soft limit: where the replay's peak sits), the
// limit is where the container is OOM-killed (the hard limit). Written with the `yaml` library,
// whose document model keeps comments, so each value carries its reason.
import { Document, isMap, isScalar, type YAMLMap } from "yaml";
import type { Recommendation, SettingName } from "../model";
import { appSettingsComment, comment, headerComment, wholeMiB, type ExportOptions, type ExportedFile } from "./common";

/** Comment lines ("# text") as the yaml library's comment text (its lines, each after "#"). */
function yamlComment(lines: string[]): string {
  return lines.map((line) => line.replace(/^#/, "")).join("\n");
}

function setReason(map: YAMLMap, key: string, lines: string[]): void {
  const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
  if (pair && isScalar(pair.key) && lines.length > 0) pair.key.commentBefore = yamlComment(lines);
}

function memoryReason(recommendation: Recommendation, setting: SettingName, what: string): string[] {
  const reason = recommendation.reasons[setting];
  return [...comment(what), ...(reason ? comment(reason) : [])];
}

export function exportKubernetes(recommendation: Recommendation, _options: ExportOptions): ExportedFile {
  const { settings } = recommendation;
  const request = wholeMiB(settings.memoryHighMiB);
  const limit = wholeMiB(settings.memoryMaxMiB);
  const resources: { requests?: { memory: string }; limits?: { memory: string } } = {};
  if (request > 0) resources.requests = { memory: `${request}Mi` };
  if (limit > 0) resources.limits = { memory: `${limit}Mi` };
  const doc = new Document({ resources });
  doc.commentBefore = yamlComment([
    ...headerComment(recommendation),
    "# Merge into the app's container: spec.template.spec.containers[].resources.",
    ...(request > 0 ? [] : ["# No memory request (memoryHighMiB 0)."]),
    ...(limit > 0 ? [] : ["# No memory limit (memoryMaxMiB 0)."]),
  ]);
  const resourcesMap = doc.get("resources", true);
  if (isMap(resourcesMap)) {
    for (const [section, setting, what] of [
      ["requests", "memoryHighMiB", "Set aside by the scheduler: the soft limit."],
      ["limits", "memoryMaxMiB", "Above this the container is OOM-killed: the hard limit."],
    ] as const) {
      const node = resourcesMap.get(section, true);
      if (isMap(node)) setReason(node, "memory", memoryReason(recommendation, setting, what));
    }
  }
  const appSettings = appSettingsComment(recommendation);
  if (appSettings.length > 0) doc.comment = yamlComment(appSettings);
  return { fileName: "resources.yaml", text: doc.toString({ lineWidth: 0 }) };
}
