// One tenant's client in its own process: POSTs `count` copies of a job body to the API, `inFlight`
// at a time, then prints the created job ids as one JSON array on stdout. Benchmarks use it so that
// a tenant flooding the API does not share an event loop (and its timers) with the other tenants'
// clients. `node --import tsx submitter-main.ts` with SUBMIT_SPEC = JSON of
// { url, path, count, inFlight, body } and SUBMIT_TOKEN = the bearer token (not on the command line).
import { createJsonClient } from './post-json';

interface Spec {
  url: string;
  path: string;
  count: number;
  inFlight: number;
  body: unknown;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.SUBMIT_SPEC ?? '') as Spec;
  const client = createJsonClient(spec.url, { authorization: `Bearer ${process.env.SUBMIT_TOKEN ?? ''}` }, spec.inFlight);
  const payload = JSON.stringify(spec.body);
  const ids: string[] = [];
  let next = 0;
  const lane = async () => {
    while (next < spec.count) {
      next++;
      const r = await client.post(spec.path, payload);
      if (r.status >= 300) throw new Error(`${spec.path} → ${r.status} ${JSON.stringify(r.body)}`);
      ids.push((r.body as { id: string }).id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.inFlight, spec.count) }, lane));
  client.close();
  process.stdout.write(JSON.stringify(ids));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
