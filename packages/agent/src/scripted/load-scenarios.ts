import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseScenario, ScenarioError } from './scenario';
import type { Scenario } from './scenario';

/**
 * The fixtures shipped with this package (the seed tenants' demo scenarios). From source they are
 * the package's own `fixtures/scenarios`; an app bundle (apps/<app>/dist/main.js, where
 * `__dirname` is dist/) has them copied next to it by scripts/build-app.mjs as
 * `dist/fixtures/scenarios`, so a built worker finds them wherever the bundle runs.
 */
export const DEFAULT_FIXTURES_DIR =
  [path.join(__dirname, 'fixtures', 'scenarios'), path.resolve(__dirname, '../../fixtures/scenarios')].find((dir) => existsSync(dir)) ??
  path.resolve(__dirname, '../../fixtures/scenarios');

/**
 * Reads every `*.json` in `dir` (sorted by file name, which is also match priority). A file holds
 * one scenario object or an array of them. Invalid files throw a ScenarioError naming the file.
 */
export function loadScenarios(dir: string = DEFAULT_FIXTURES_DIR): Scenario[] {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch (err) {
    throw new ScenarioError(`Cannot read scenario fixtures folder ${dir}: ${(err as Error).message}`);
  }
  const scenarios: Scenario[] = [];
  const names = new Set<string>();
  for (const file of files) {
    const full = path.join(dir, file);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(full, 'utf8'));
    } catch (err) {
      throw new ScenarioError(`Scenario fixture ${full} is not valid JSON: ${(err as Error).message}`);
    }
    const items = Array.isArray(json) ? json : [json];
    for (const item of items) {
      const scenario = parseScenario(item, full);
      if (names.has(scenario.name)) throw new ScenarioError(`Duplicate scenario name "${scenario.name}" in ${full}`);
      names.add(scenario.name);
      scenarios.push(scenario);
    }
  }
  return scenarios;
}
