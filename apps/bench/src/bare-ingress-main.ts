// Entry of the baseline server in its own process: `node --import tsx bare-ingress-main.ts <dbUrl> <redisUrl> <prefix> <port>`.
import { startBareIngress } from './bare-ingress';

const [dbUrl, redisUrl, prefix, port] = process.argv.slice(2);
startBareIngress({ dbUrl: dbUrl!, redisUrl: redisUrl!, prefix: prefix!, port: Number(port) }).then(
  (s) => {
    process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
