// `node scripts/bootstrap.mjs`: makes sure dependencies are installed (used by build/migrate).
import { ensureDependencies } from './lib.mjs';
ensureDependencies();
