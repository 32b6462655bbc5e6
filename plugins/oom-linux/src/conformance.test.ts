import { oomScorerConformance } from '@mmsim/testkit';

oomScorerConformance({ name: 'oom-linux', plugin: 'oom-linux' });
