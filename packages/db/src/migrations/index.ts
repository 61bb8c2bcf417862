import type { Migration } from '../migrator';
import { m0001Init } from './0001-init';
import { m0002Credentials } from './0002-credentials';
import { m0003Platform } from './0003-platform';
import { m0004RollupHorizon } from './0004-rollup-horizon';
import { m0005Automations } from './0005-automations';
import { m0006LeanJobWrites } from './0006-lean-job-writes';
import { m0007AutomationsPerEnvironment } from './0007-automations-per-environment';
import { m0008EventBodyAtDelivery } from './0008-event-body-at-delivery';
import { m0009JobRequestOrigin } from './0009-job-request-origin';
import { m0010JobRetry } from './0010-job-retry';
import { m0011UsageSession } from './0011-usage-session';
import { m0012PlatformKeys } from './0012-platform-keys';
import { m0013JobEvents } from './0013-job-events';
import { m0014Sessions } from './0014-sessions';
import { m0015UsagePartitions } from './0015-usage-partitions';
import { m0016JobSession } from './0016-job-session';

export const MIGRATIONS: readonly Migration[] = [
  m0001Init,
  m0002Credentials,
  m0003Platform,
  m0004RollupHorizon,
  m0005Automations,
  m0006LeanJobWrites,
  m0007AutomationsPerEnvironment,
  m0008EventBodyAtDelivery,
  m0009JobRequestOrigin,
  m0010JobRetry,
  m0011UsageSession,
  m0012PlatformKeys,
  m0013JobEvents,
  m0014Sessions,
  m0015UsagePartitions,
  m0016JobSession,
];
