// A systemd drop-in for the app's service (/etc/systemd/system/APP.service.d/balloon.conf):
// the memory limits of the whole unit (cgroup v2: MemoryHigh= throttles and reclaims,
// MemoryMax= OOM-kills inside the unit) and RLIMIT_STACK for its processes. systemd reads
// sizes with K/M/G suffixes as powers of 1024, and comments only on lines of their own.
import type { Recommendation } from "../model";
import { appSettingsComment, comment, fileText, headerComment, reasonComment, spaced, wholeMiB, type ExportOptions, type ExportedFile } from "./common";

export function exportSystemd(recommendation: Recommendation, _options: ExportOptions): ExportedFile {
  const { settings } = recommendation;
  const high = wholeMiB(settings.memoryHighMiB);
  const max = wholeMiB(settings.memoryMaxMiB);
  const lines = spaced([
    [...headerComment(recommendation), "#", "# Drop-in for the app's unit: /etc/systemd/system/APP.service.d/balloon.conf, then systemctl daemon-reload."],
    [
      "[Service]",
      ...reasonComment(recommendation, "memoryHighMiB"),
      ...(high > 0 ? ["# Above this the unit's processes are throttled and their memory reclaimed.", `MemoryHigh=${high}M`] : ["# No soft limit (memoryHighMiB 0)."]),
    ],
    [
      ...reasonComment(recommendation, "memoryMaxMiB"),
      ...(max > 0 ? ["# Above this the kernel's OOM killer ends a process of the unit.", `MemoryMax=${max}M`] : ["# No hard limit (memoryMaxMiB 0)."]),
    ],
    settings.stackKiB > 0
      ? [
          ...reasonComment(recommendation, "stackKiB"),
          ...comment("RLIMIT_STACK (ulimit -s): glibc's default thread stack, and the main thread's stack limit."),
          `LimitSTACK=${settings.stackKiB}K`,
        ]
      : [],
    appSettingsComment(recommendation),
  ]);
  return { fileName: "balloon.conf", text: fileText(lines) };
}
