import { reclaimPolicyConformance } from '@mmsim/testkit';

reclaimPolicyConformance({ name: 'lru', plugin: 'lru' });
