import type { Migration } from '../migrator';
import { m0001Init } from './0001-init';
import { m0002Credentials } from './0002-credentials';

export const MIGRATIONS: readonly Migration[] = [m0001Init, m0002Credentials];
