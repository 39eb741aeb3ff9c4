// The recommendation as JSON (the contract the editor and --settings read), keys sorted.
import { sortKeys } from "../report/json";
import type { Recommendation } from "./model";

export function toRecommendationJson(rec: Recommendation): string {
  return `${JSON.stringify(sortKeys(rec), null, 2)}\n`;
}
