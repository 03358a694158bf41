/**
 * No Docker engine runs here, so the deployment files are checked structurally: the services Capsule needs, on
 * Temporal's official images (never the deprecated auto-setup), wired in the right start order, and a worker
 * image that runs worker.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/shared.js';
import { DYNAMIC_CONFIG_FILE, NAMESPACE_ENV_FILE, readCompose, readEnvFile } from '../cluster/compose.js';

const root = (file: string) => fileURLToPath(new URL(`../../${file}`, import.meta.url));

const dependsOn = z.record(z.string(), z.strictObject({ condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']) }));
const service = z.object({
  image: z.string().optional(),
  build: z.strictObject({ context: z.string(), dockerfile: z.string() }).optional(),
  depends_on: dependsOn.optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  ports: z.array(z.string().regex(/^(127\.0\.0\.1:)?\d+:\d+$/)).optional(),
  command: z.union([z.string(), z.array(z.string())]).optional(),
  entrypoint: z.array(z.string()).optional(),
  healthcheck: z.object({ test: z.array(z.string()) }).passthrough().optional(),
  deploy: z.object({ replicas: z.union([z.number().int().positive(), z.string()]) }).optional(),
  env_file: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  networks: z.array(z.string()).optional(),
}).passthrough();
const composeSchema = z.object({
  name: z.string(),
  services: z.record(z.string(), service),
  volumes: z.record(z.string(), z.unknown()).optional(),
  networks: z.record(z.string(), z.unknown()).optional(),
}).passthrough();

const compose = composeSchema.parse(parse(readFileSync(root('docker-compose.yml'), 'utf8'), { merge: true }));
const services = compose.services;
const imageOf = (name: string) => services[name]?.image ?? '';

describe('docker-compose.yml', () => {
  it('has postgres, schema set-up, server, namespace set-up, UI and workers', () => {
    expect(Object.keys(services).sort()).toEqual(['capsule-codec-server', 'capsule-worker', 'postgresql', 'temporal', 'temporal-admin-tools', 'temporal-create-namespace', 'temporal-ui']);
    expect(imageOf('postgresql')).toMatch(/^postgres:\d+/);
    expect(imageOf('temporal')).toMatch(/^temporalio\/server:/);
    expect(imageOf('temporal-admin-tools')).toMatch(/^temporalio\/admin-tools:/);
    expect(imageOf('temporal-ui')).toMatch(/^temporalio\/ui:/);
  });

  it('never uses the deprecated auto-setup image', () => {
    for (const [name, s] of Object.entries(services)) expect(s.image ?? '', name).not.toContain('auto-setup');
  });

  it('starts in order: postgres healthy -> schema done -> server healthy -> namespace done -> workers', () => {
    expect(services['temporal-admin-tools']?.depends_on).toEqual({ postgresql: { condition: 'service_healthy' } });
    expect(services.temporal?.depends_on).toEqual({ 'temporal-admin-tools': { condition: 'service_completed_successfully' } });
    expect(services['temporal-create-namespace']?.depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
    expect(services['capsule-worker']?.depends_on).toEqual({ 'temporal-create-namespace': { condition: 'service_completed_successfully' } });
    for (const s of Object.values(services)) for (const dep of Object.keys(s.depends_on ?? {})) expect(Object.keys(services)).toContain(dep);
  });

  it('registers every search attribute the workflows write, from the file the cluster test reads too', () => {
    const namespace = services['temporal-create-namespace']!;
    expect(namespace.env_file).toEqual(['deploy/temporal/namespace.env']);
    const settings = readEnvFile(NAMESPACE_ENV_FILE);
    expect(settings.CAPSULE_SEARCH_ATTRIBUTES!.split(' ').sort()).toEqual(Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => `${name}=${type}`).sort());
    expect(settings.NAMESPACE_RETENTION).toMatch(/^\d+[dh]$/);
    expect(String(namespace.command)).toContain('for attr in $$CAPSULE_SEARCH_ATTRIBUTES');
    expect(String(namespace.command)).toContain('--retention "$$NAMESPACE_RETENTION"');
  });

  it("gives the server Capsule's dynamic config, the file the cluster test runs with", () => {
    const server = services.temporal!;
    expect(server.environment?.DYNAMIC_CONFIG_FILE_PATH).toBe('/etc/temporal/config/dynamicconfig/capsule.yaml');
    expect(server.volumes).toContain('./deploy/temporal/dynamicconfig.yaml:/etc/temporal/config/dynamicconfig/capsule.yaml:ro');
    expect(existsSync(DYNAMIC_CONFIG_FILE)).toBe(true);
    // The cluster test builds the server at the image's version.
    expect(readCompose().temporalVersion).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('exposes worker metrics and probes inside the network and checks readiness', () => {
    const worker = services['capsule-worker']!;
    expect(worker.environment?.CAPSULE_METRICS_ADDRESS).toBe('0.0.0.0:9464');
    expect(worker.environment?.CAPSULE_HEALTH_ADDRESS).toBe('0.0.0.0:8081');
    expect(worker.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:8081/readyz');
  });

  it('runs N Capsule workers built from the Dockerfile, pointed at the server', () => {
    const worker = services['capsule-worker']!;
    expect(worker.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    expect(worker.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(String(worker.deploy?.replicas)).toMatch(/^\$\{CAPSULE_WORKERS:-\d+\}$|^\d+$/);
    for (const s of Object.values(services)) for (const port of s.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/);
  });

  it('gives workers and the codec server one shared blob store and key, and points the Web UI at the codec server', () => {
    const worker = services['capsule-worker']!.environment!;
    const codec = services['capsule-codec-server']!;
    expect(String(worker.CAPSULE_BLOB_STORE)).toMatch(/^postgres:\/\/temporal:.*@postgresql:5432\/capsule$/);
    expect(codec.environment?.CAPSULE_BLOB_STORE).toBe(worker.CAPSULE_BLOB_STORE);
    expect(codec.environment?.CAPSULE_PAYLOAD_KEY).toBe(worker.CAPSULE_PAYLOAD_KEY);
    expect(String(codec.command)).toContain('codec-server');
    expect(codec.ports).toEqual(['127.0.0.1:8234:8234']);
    expect(services['temporal-ui']?.environment?.TEMPORAL_CODEC_ENDPOINT).toBe('http://127.0.0.1:8234');
    expect(String(services['temporal-admin-tools']?.command)).toContain('sql --db capsule create');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(root('Dockerfile'), 'utf8');
  it('builds the sandbox runtime into the image and runs worker.ts with node as the main process', () => {
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    expect(dockerfile).toMatch(/^RUN node bin\/capsule\.js setup/m);
    expect(dockerfile).toMatch(/^CMD \["node", "--import", "tsx", "worker\.ts"\]$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
  });
});
